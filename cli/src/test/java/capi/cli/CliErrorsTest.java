package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad usage, configuration or input: exit 2 and one line that names what is wrong. */
class CliErrorsTest {
  @TempDir Path tmp;

  private static String stderrOf(Runnable r) {
    PrintStream old = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setErr(new PrintStream(buf, true));
    try {
      r.run();
    } finally {
      System.setErr(old);
    }
    return buf.toString();
  }

  private void expectBadInput(String mustMention, String... args) {
    int[] rc = new int[1];
    String err = stderrOf(() -> rc[0] = Main.execute(args));
    assertEquals(2, rc[0], "exit status of " + String.join(" ", args) + "; stderr: " + err);
    assertTrue(err.contains(mustMention), "stderr should name " + mustMention + ": " + err);
  }

  @Test
  void badValuesAndPathsAreNamed() {
    Path run = tmp.resolve("r");
    expectBadInput("capi.model.heads", "train", "--run-dir", run.toString(), "-Dcapi.model.heads=5");
    expectBadInput("capi.train.batch-size", "train", "--run-dir", run.toString(), "--workers", "3", "--batch-size", "64");
    expectBadInput("/nonexistent/images", "train", "--run-dir", run.toString(), "--dataset", "folder:/nonexistent/images");
    expectBadInput("no config.conf", "resume", tmp.resolve("nothing").toString());
    expectBadInput("capi.preset", "train", "--run-dir", run.toString(), "--preset", "vit-xxl");
    expectBadInput("Unknown option", "train", "--bogus");
  }

  @Test
  void everyCommandExplainsItselfWithHelp() {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true));
    int rc;
    try {
      rc = Main.execute("train", "--help");
    } finally {
      System.setOut(old);
    }
    assertEquals(0, rc);
    assertTrue(buf.toString().contains("--steps"), "train --help lists its options: " + buf);
  }

  @Test
  void aMetricsPortInUseIsNamed() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Path run = tmp.resolve("m");
      expectBadInput("capi.monitoring.metrics-port", "train", "--run-dir", run.toString(),
          "--metrics-port", Integer.toString(taken.getLocalPort()), "-Dcapi.monitoring.metrics-host=127.0.0.1");
      assertTrue(!java.nio.file.Files.exists(run), "a run that failed at start leaves no directory");
    }
  }
}
