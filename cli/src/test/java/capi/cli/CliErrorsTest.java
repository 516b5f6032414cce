package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import capi.config.Keys;
import capi.engine.Backends;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
  void anEngineThatCannotRunIsRefusedBeforeTheRunStarts() {
    Path run = tmp.resolve("e");
    expectBadInput("engine.backend = tpu: must be one of cpu, cuda", "train", "--run-dir", run.toString(), d("engine.backend", "tpu"));
    expectBadInput("engine.precision = bf16-mixed: bf16-mixed runs on the cuda backend only", "train", "--run-dir", run.toString(),
        d("engine.precision", "bf16-mixed"));
    expectBadInput("engine.devices", "train", "--run-dir", run.toString(), d("engine.devices", "[-1]"));
    assumeTrue(Backends.devices("cuda") == 0, "a GPU is usable here: the rest is for machines without one");
    // the cuda provider is on the command's class path and says why it cannot start, for worker 0, at once
    expectBadInput(Keys.ENGINE_BACKEND + " = cuda: worker 0 on device 0: backend cuda cannot start: CUDA", "train", "--run-dir",
        run.toString(), "--steps", "2", d("engine.backend", "cuda"));
    assertFalse(Files.exists(run.resolve("checkpoints").resolve("LATEST")), "no step ran");
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

  /** capi deletes only what it created: a directory that holds anything but a run is refused and left alone. */
  @Test
  void aNonEmptyDirectoryThatIsNotARunIsRefusedAndKept() throws Exception {
    Path d = tmp.resolve("d");
    Files.createDirectories(d.resolve("sub"));
    Files.writeString(d.resolve("precious.txt"), "precious\n");
    for (String dataset : new String[] {"idx:/nonexistent", "synthetic:64"}) {
      expectBadInput(Keys.TRAIN_RUN_DIR + " = " + d.toAbsolutePath(), "train", "--run-dir", d.toString(),
          "--dataset", dataset, "--steps", "5");
      assertEquals("precious\n", Files.readString(d.resolve("precious.txt")));
      assertTrue(Files.isDirectory(d.resolve("sub")));
      try (var entries = Files.list(d)) {
        assertEquals(2, entries.count(), "nothing added");
      }
    }
  }

  /** A run that fails at start in an empty directory it was given removes its own files, not the directory. */
  @Test
  void aFailedStartInAGivenEmptyDirectoryKeepsTheDirectory() throws Exception {
    Path d = Files.createDirectories(tmp.resolve("empty"));
    expectBadInput("/nonexistent", "train", "--run-dir", d.toString(), "--dataset", "idx:/nonexistent");
    assertTrue(Files.isDirectory(d), "the user's directory stays");
    try (var entries = Files.list(d)) {
      assertEquals(0, entries.count(), "capi's files are gone");
    }
    Path nested = tmp.resolve("made/by/capi");
    expectBadInput("/nonexistent", "train", "--run-dir", nested.toString(), "--dataset", "idx:/nonexistent");
    assertFalse(Files.exists(tmp.resolve("made")), "directories capi made are removed");
  }

  /** Every image corrupt: exit 2 naming the dataset, not a run failure. */
  @Test
  void aDatasetWithoutOneReadableImageIsBadInput() throws Exception {
    Path images = tmp.resolve("images");
    for (int c = 0; c < 2; c++) {
      for (int i = 0; i < 3; i++) {
        Path f = images.resolve(Integer.toString(c)).resolve(i + ".png");
        Files.createDirectories(f.getParent());
        Files.write(f, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
      }
    }
    Path run = tmp.resolve("corrupt");
    List<String> args = new ArrayList<>(List.of("train", "--run-dir", run.toString(), "--dataset", "folder:" + images,
        "--steps", "3", "--workers", "1", "--batch-size", "4"));
    args.addAll(SmallRuns.small());
    expectBadInput("not one readable image", args.toArray(String[]::new));
    assertFalse(Files.exists(run), "a run that failed on its input before its first checkpoint leaves no directory");
  }
}
