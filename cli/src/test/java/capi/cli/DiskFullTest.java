package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.engine.checkpoint.CheckpointStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk too full for the next checkpoint: the write fails with the kernel's own error every time
 * the step is computed again, so the run ends (exit 1, saying why) after the same failure at the same
 * step a fourth time instead of recovering forever; its earlier checkpoint stays intact, and once
 * there is room `capi resume` finishes the run with the uninterrupted run's losses.
 *
 * <p>The disk: as root with unshare(1), a tmpfs of a few hundred KiB mounted in a mount namespace
 * of the capi process's own (gone with it: nothing on the machine changes), so writes fail with
 * ENOSPC; otherwise the same room as a file size limit (ulimit -f), so they fail with EFBIG.
 */
class DiskFullTest {
  /** Room left for the resumed run: its metrics lines and logs, not a checkpoint (~700 KB). */
  private static final long ROOM = 320 * 1024;

  @TempDir Path tmp;

  @Test
  @Timeout(600)
  void aFullDiskEndsTheRunAndKeepsItsCheckpoints() throws Exception {
    String[] options = {"--checkpoint-every", "4", "--workers", "1", "--batch-size", "8", d("optim.schedule-steps", "12")};
    Path whole = tmp.resolve("whole");
    SmallRuns.train(whole, append(options, "--steps", "12"));
    Path run = tmp.resolve("run");
    SmallRuns.train(run, append(options, "--steps", "4"));
    long checkpointBytes = Files.size(run.resolve("checkpoints/step-00000004").resolve(CheckpointStore.MODEL_FILE));
    assertTrue(checkpointBytes > ROOM, "a checkpoint (" + checkpointBytes + " bytes) must not fit in the room left");

    Path log = tmp.resolve("full.log");
    Process p = CapiProcess.start(fullDisk(run, List.of("resume", "RUN", "--steps", "12")), log);
    try {
      assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the run did not end on a full disk: " + Files.readString(log));
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly); // capi under the namespace's shell
      p.destroyForcibly();
    }
    String out = Files.readString(log);
    assertEquals(1, p.exitValue(), out);
    assertTrue(out.contains("capi: run failed: giving up: checkpoint-write at step 8 4 times"), out);
    assertTrue(out.contains("No space left on device") || out.contains("File too large"), out);
    assertEquals("step-00000004", Files.readString(run.resolve("checkpoints/LATEST")).trim());
    assertEquals(4, CheckpointStore.verify(run.resolve("checkpoints/step-00000004")));
    try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
      assertEquals(List.of("LATEST", "step-00000004"), s.map(f -> f.getFileName().toString()).sorted().toList(),
          "no partial checkpoint left");
    }

    SmallRuns.execute(0, "resume", run.toString(), "--steps", "12");
    assertEquals(SmallRuns.metric(whole, "loss_capi"), SmallRuns.metric(run, "loss_capi"), "resumed once there is room");
  }

  /**
   * The command that runs `capi ARGS` on {@code run} with only {@link #ROOM} bytes to write ("RUN" in
   * args stands for the run directory as that command sees it).
   */
  private List<String> fullDisk(Path run, List<String> args) throws Exception {
    if (canMountTmpfs()) {
      long used;
      try (Stream<Path> s = Files.walk(run)) {
        used = s.filter(Files::isRegularFile).mapToLong(DiskFullTest::size).sum();
      }
      Path mount = Files.createDirectories(tmp.resolve("tmpfs"));
      List<String> capi = CapiProcess.command(args.stream().map(a -> a.equals("RUN") ? mount.toString() : a).toList());
      // The run is copied onto the small tmpfs and back afterwards (as the full disk left it).
      String script = "set -e; mount -t tmpfs -o size=" + ((used + ROOM) / 1024 + 64) + "k capi-test-full " + q(mount)
          + "; cp -a " + q(run) + "/. " + q(mount) + "/; set +e; " + String.join(" ", capi.stream().map(DiskFullTest::q).toList())
          + "; rc=$?; rm -rf " + q(run) + " && cp -a " + q(mount) + " " + q(run) + "; exit $rc";
      System.out.println("DiskFullTest: a tmpfs in a mount namespace of its own");
      return List.of("unshare", "--mount", "--propagation", "private", "bash", "-c", script);
    }
    List<String> capi = CapiProcess.command(args.stream().map(a -> a.equals("RUN") ? run.toString() : a).toList());
    System.out.println("DiskFullTest: no tmpfs (not root, or no unshare): a file size limit instead");
    return List.of("bash", "-c", "ulimit -f " + ROOM / 1024 + " && exec " + String.join(" ", capi.stream().map(DiskFullTest::q).toList()));
  }

  /** Whether this process may mount a tmpfs in a private mount namespace (root, unshare(1)). */
  private boolean canMountTmpfs() throws Exception {
    Path probe = Files.createDirectories(tmp.resolve("probe"));
    try {
      Process p = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c",
          "mount -t tmpfs -o size=64k capi-test-probe " + q(probe)).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false; // no unshare
    }
  }

  private static long size(Path f) {
    try {
      return Files.size(f);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /** A single-quoted shell word. */
  private static String q(Object word) {
    return "'" + word.toString().replace("'", "'\\''") + "'";
  }

  private static String[] append(String[] options, String... more) {
    List<String> all = new ArrayList<>(List.of(options));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }
}
