package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.monitoring.MonitoringFiles;
import capi.monitoring.PrometheusServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus server (Debian's, on 127.0.0.1) scrapes a real training run (2 workers, a
 * separate JVM) and finds the key series with sensible values, and a series for the dashboard's
 * queries about training. The run is longer than the test and is ended by it: a run that finished
 * before the first scrape (seconds on a fast machine) would leave nothing to scrape.
 */
class PrometheusRunTest {
  @TempDir Path tmp;

  @Test
  @Timeout(300)
  void prometheusScrapesARealRun() throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"),
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
        "--add-modules", "jdk.incubator.vector",
        "-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train",
        "--run-dir", tmp.resolve("run").toString(), "--steps", "1000000", "--workers", "2", "--batch-size", "8",
        "--checkpoint-every", "100", d("monitoring.metrics-host", "127.0.0.1"),
        // a periodic evaluation on a few images, so capi_eval_top1 has series
        d("eval.every-steps", "40"), d("eval.periodic-train-samples", "300"),
        d("eval.periodic-test-samples", "100"), d("eval.linear-epochs", "2")));
    cmd.addAll(SmallRuns.small());
    Path log = tmp.resolve("run.log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Process run = pb.start();
    try {
      int port = metricsPort(log, run);
      try (PrometheusServer prometheus = PrometheusServer.start(Files.createDirectories(tmp.resolve("prometheus")), "127.0.0.1:" + port,
          MonitoringFiles.alertsFile())) {
        Duration wait = Duration.ofSeconds(90);
        double first = single(prometheus.awaitQuery("capi_step", s -> !s.isEmpty() && s.get(0).value() >= 2, wait));
        double later = single(prometheus.awaitQuery("capi_step", s -> !s.isEmpty() && s.get(0).value() > first + 5, wait));
        assertTrue(later > first, "steps increase");
        for (String loss : List.of("capi_loss_capi", "capi_loss_clustering")) {
          double v = single(prometheus.query(loss));
          assertTrue(Double.isFinite(v) && v > 0, loss + " = " + v);
        }
        assertEquals(2.0, single(prometheus.query("capi_world_size")));
        assertTrue(single(prometheus.query("sum(capi_allreduce_bytes_total)")) > 0, "all-reduce bytes counted");
        double knn = single(prometheus.awaitQuery("capi_eval_top1{probe=\"knn\",features=\"global_repr\"}",
            s -> !s.isEmpty(), wait));
        assertTrue(knn > 0.1 && knn <= 1, "k-NN top-1 of a periodic evaluation: " + knn);
        List<String> empty = MonitoringFiles.dashboardQueriesWithoutSeries(prometheus, "30s");
        empty.removeIf(q -> q.contains("recover") || q.contains("skipped") || q.contains("up{"));
        assertTrue(empty.size() <= 3, "dashboard queries without series in a real run: " + empty);
        assertFalse(prometheus.firingAlerts().contains("CapiLossNotFinite"));
      }
    } finally {
      run.destroyForcibly();
      run.waitFor(1, TimeUnit.MINUTES);
    }
  }

  /** The port of the run's log line {"event":"metrics","port":P}. */
  private static int metricsPort(Path log, Process run) throws Exception {
    Pattern p = Pattern.compile("\\{\"event\":\"metrics\",\"port\":(\\d+)\\}");
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < deadline && run.isAlive()) {
      Matcher m = p.matcher(Files.readString(log));
      if (m.find()) return Integer.parseInt(m.group(1));
      Thread.sleep(100);
    }
    throw new AssertionError("the run printed no metrics port: " + Files.readString(log));
  }

  private static double single(List<PrometheusServer.Sample> samples) {
    assertFalse(samples.isEmpty(), "no series");
    return samples.get(0).value();
  }
}
