package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.Keys;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
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
    expectBadInput("model.heads = 5", "train", "--run-dir", run.toString(), d("model.heads", "5"));
    expectBadInput(Keys.TRAIN_BATCH_SIZE + " = 64", "train", "--run-dir", run.toString(), "--workers", "3", "--batch-size", "64");
    expectBadInput("/nonexistent/images", "train", "--run-dir", run.toString(), "--dataset", "folder:/nonexistent/images");
    expectBadInput("no config.conf", "resume", tmp.resolve("nothing").toString());
    expectBadInput("preset = vit-xxl", "train", "--run-dir", run.toString(), "--preset", "vit-xxl");
    expectBadInput("Unknown option", "train", "--bogus");
  }

  @Test
  void aMisspeltKeyOrAValueForASectionIsRefusedInOneLine() {
    Path run = tmp.resolve("k");
    String err = stderrOf(() -> assertEquals(2, Main.execute("train", "--run-dir", run.toString(), d("optim.lrr", 1))));
    assertTrue(err.contains("optim.lrr (command line): unknown key; did you mean ") && err.contains(".optim.lr?"), err);
    err = stderrOf(() -> assertEquals(2, Main.execute("train", "--run-dir", run.toString(), d("optim", 1))));
    assertEquals(1, err.lines().count(), err);
    assertTrue(err.contains("is a section, not a value"), err);
    assertTrue(!java.nio.file.Files.exists(run), "nothing is created for a refused configuration");
  }

  @Test
  void theAllReduceBenchNamesABadWireFormatAndHostsWithoutARank() {
    expectBadInput("--wire fp16", "bench", "--what", "allreduce", "--wire", "fp16");
    expectBadInput("--hosts needs two or more addresses and --rank", "bench", "--what", "allreduce", "--hosts", "10.0.0.1,10.0.0.2");
    expectBadInput("--hosts needs two or more addresses and --rank", "bench", "--what", "allreduce", "--hosts", "10.0.0.1", "--rank", "0");
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
      expectBadInput(Keys.METRICS_PORT + " = ", "train", "--run-dir", run.toString(),
          "--metrics-port", Integer.toString(taken.getLocalPort()), d("monitoring.metrics-host", "127.0.0.1"));
      assertTrue(!java.nio.file.Files.exists(run), "a run that failed at start leaves no directory");
    }
  }
}
