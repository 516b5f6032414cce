package capi.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.monitoring.PrometheusServer.Sample;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus scrapes a node's exporter while a thread updates the metrics like a run:
 * the key series arrive with sensible values, every dashboard query finds its series, and the
 * alert rules fire on a recovery, on a step rejected as non-finite and on a checkpoint that cannot
 * be written.
 */
class PrometheusScrapeTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  @Timeout(240)
  void prometheusScrapesARunAndTheDashboardAndAlertsWork(@TempDir Path dir) throws Exception {
    CapiMetrics metrics = new CapiMetrics();
    FakeRun run = new FakeRun(metrics, 100_000);
    ScheduledExecutorService steps = Executors.newSingleThreadScheduledExecutor();
    try (MetricsServer exporter = MetricsServer.start(metrics, "127.0.0.1", 0);
        PrometheusServer prometheus =
            PrometheusServer.start(dir, "127.0.0.1:" + exporter.port(), MonitoringFiles.alertsFile())) {
      run.rareEvents();
      steps.scheduleAtFixedRate(run::step, 0, 100, TimeUnit.MILLISECONDS);

      prometheus.awaitQuery("up{job=\"capi\"} == 1", r -> r.size() == 1, WAIT);
      double first = single(prometheus.awaitQuery("capi_step", r -> r.size() == 1 && r.get(0).value() > 0, WAIT));
      prometheus.awaitQuery("capi_step", r -> single(r) > first, WAIT); // steps go on
      prometheus.awaitQuery("rate(capi_steps_total[10s])", r -> r.size() == 1 && single(r) > 0, WAIT);
      for (String loss : List.of("capi_loss_capi", "capi_loss_clustering")) {
        double v = single(prometheus.query(loss));
        assertTrue(Double.isFinite(v) && v > 0, loss + " = " + v);
      }
      assertEquals(FakeRun.WORLD_SIZE, single(prometheus.query("capi_world_size")));
      assertEquals(2, prometheus.query("capi_rank_arrival_lag_seconds").size());
      assertTrue(single(prometheus.query("jvm_memory_used_bytes{area=\"heap\"}")) > 0);

      assertEquals(List.of(), MonitoringFiles.dashboardQueriesWithoutSeries(prometheus, "10s"),
          "dashboard queries without series");

      for (JsonNode group : prometheus.api("/api/v1/rules").get("groups")) {
        for (JsonNode rule : group.get("rules")) {
          assertEquals("ok", rule.get("health").asText(), rule.toString());
        }
      }
      awaitFiring(prometheus, "CapiRecovery");
      assertTrue(!prometheus.firingAlerts().contains("CapiLossNotFinite"));
      assertTrue(!prometheus.firingAlerts().contains("CapiCheckpointWriteFailing"));
      run.diverge();
      run.checkpointWriteFails();
      awaitFiring(prometheus, "CapiLossNotFinite");
      awaitFiring(prometheus, "CapiCheckpointWriteFailing");
    } finally {
      steps.shutdownNow();
      assertTrue(steps.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  private static void awaitFiring(PrometheusServer prometheus, String alert) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!prometheus.firingAlerts().contains(alert)) {
      assertTrue(System.nanoTime() < deadline, alert + " not firing after " + WAIT + ": " + prometheus.firingAlerts());
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }

  private static double single(List<Sample> result) {
    assertEquals(1, result.size(), result.toString());
    return result.get(0).value();
  }
}
