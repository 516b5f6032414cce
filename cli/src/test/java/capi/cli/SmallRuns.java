package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import capi.config.BadConfigException;
import capi.config.Overrides;
import capi.data.Datasets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A small model on Fashion-MNIST for runtime tests: seconds per run, real data, real actors. */
final class SmallRuns {
  private SmallRuns() {}

  /**
   * -D overrides that shrink the tiny preset, with drop path on (resume must reproduce its randomness).
   * Fails at once, saying what to install, when the runs' data (Fashion-MNIST) is missing: a run in
   * another JVM would only end early, with the reason in its log.
   */
  static List<String> small() {
    requireFashionMnist();
    return List.of(
        d("model.dim", "32"), d("model.heads", "2"), d("model.depth", "2"),
        d("model.pred-dim", "32"), d("model.pred-heads", "2"), d("model.pred-depth", "1"),
        d("model.prototypes", "64"), d("model.drop-path-rate", "0.2"), d("data.loader-threads", "1"),
        d("train.threads-per-worker", "1"), "--metrics-port=0");
  }

  /**
   * -D overrides that make a cluster of `capi node`s on one machine notice a lost node in seconds:
   * a ring rank times out 8 s after its peer's last datagram; by then the failure detector (4 s
   * pause, reference.conf's: less marks busy JVMs of a loaded 2-core machine unreachable) has marked
   * the peer's node unreachable, and downing (3 s after that) may be yet to come. Each test JVM
   * gets its own udp ports (its pid picks them).
   */
  static List<String> quickCluster() {
    return List.of(
        d("collective.udp-port-base", 41000 + (int) (ProcessHandle.current().pid() % 1000) * 8),
        d("collective.timeout", "8s"),
        d("cluster.pekko.cluster.split-brain-resolver.stable-after", "3s"));
  }

  /** The argument {@code -Dcapi.KEY=VALUE} (KEY relative to capi, e.g. "model.dim"). */
  static String d(String key, Object value) {
    return Overrides.none().set(key, value).toArgs().get(0);
  }

  private static boolean fashionMnistChecked;

  private static synchronized void requireFashionMnist() {
    if (fashionMnistChecked) return;
    try {
      Datasets.open("fashion-mnist:test");
    } catch (BadConfigException e) {
      throw new AssertionError(e.getMessage(), e);
    }
    fashionMnistChecked = true;
  }

  static String[] args(String command, List<String> extra) {
    List<String> a = new ArrayList<>();
    a.add(command);
    a.addAll(extra);
    return a.toArray(String[]::new);
  }

  static void train(Path runDir, String... extra) {
    List<String> a = new ArrayList<>(small());
    a.addAll(List.of("--run-dir", runDir.toString()));
    a.addAll(List.of(extra));
    assertEquals(0, Main.execute(args("train", a)), "capi train " + a);
  }

  /** Complete lines in a run's metrics.jsonl (0 before it exists). */
  static long stepsLogged(Path runDir) throws IOException {
    Path f = runDir.resolve("metrics.jsonl");
    if (!Files.exists(f)) return 0;
    return Files.readAllLines(f).stream().filter(l -> l.endsWith("}")).count();
  }

  /**
   * Asserts that two runs logged the same steps with the same loss_capi up to float32 summation
   * order (2e-4 relative): what data-parallel equivalence promises.
   */
  static void assertSameLosses(Path expectedRun, Path actualRun, String what) throws IOException {
    Map<Long, String> expected = metric(expectedRun, "loss_capi");
    Map<Long, String> actual = metric(actualRun, "loss_capi");
    assertEquals(expected.keySet(), actual.keySet(), what);
    for (Long step : expected.keySet()) {
      double e = Double.parseDouble(expected.get(step));
      assertEquals(e, Double.parseDouble(actual.get(step)), 2e-4 * Math.abs(e), "loss_capi at step " + step + " " + what);
    }
  }

  /**
   * The value of {@code field} in the newest complete line of a run's metrics.jsonl ("" before
   * there is one): reads only the file's end, so a test may poll it while a long run goes on.
   */
  static String lastMetric(Path runDir, String field) {
    Path f = runDir.resolve("metrics.jsonl");
    try (java.io.RandomAccessFile r = new java.io.RandomAccessFile(f.toFile(), "r")) {
      long from = Math.max(0, r.length() - 4096);
      byte[] tail = new byte[(int) (r.length() - from)];
      r.seek(from);
      r.readFully(tail);
      String[] lines = new String(tail, java.nio.charset.StandardCharsets.UTF_8).split("\n");
      for (int i = lines.length - 1; i >= 0; i--) {
        Matcher v = Pattern.compile("\"" + field + "\":([^,}]+)").matcher(lines[i]);
        if (lines[i].endsWith("}") && v.find()) return v.group(1);
      }
      return "";
    } catch (IOException missingOrReplaced) {
      return "";
    }
  }

  private static final Pattern STEP = Pattern.compile("\"step\":(\\d+)");

  /** metrics.jsonl as step -> the value of one field, exactly as written. */
  static Map<Long, String> metric(Path runDir, String field) throws IOException {
    Pattern value = Pattern.compile("\"" + field + "\":([^,}]+)");
    Map<Long, String> out = new TreeMap<>();
    for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
      Matcher s = STEP.matcher(line);
      Matcher v = value.matcher(line);
      if (s.find() && v.find()) {
        String previous = out.put(Long.parseLong(s.group(1)), v.group(1));
        assertEquals(null, previous, "step " + s.group(1) + " logged twice in " + runDir);
      }
    }
    return out;
  }
}
