package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.actors.RunDirectory;
import capi.actors.RunResult;
import capi.actors.TrainingRun;
import capi.config.Overrides;
import capi.engine.checkpoint.CheckpointStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run without a valid checkpoint is not silently started again: `capi resume` refuses (exit 2,
 * saying what it found, nothing changed), the coordinator refuses too, and `--from-scratch` starts
 * it again at step 0 with the old checkpoints and metrics set aside.
 */
class ResumeWithoutCheckpointTest {
  @TempDir Path tmp;

  @Test
  @Timeout(300)
  void allCheckpointsDamagedOrNoneIsRefusedUnlessFromScratch() throws Exception {
    Path run = tmp.resolve("run");
    SmallRuns.train(run, "--steps", "4", "--checkpoint-every", "2", "--workers", "1", "--batch-size", "8");
    Map<Long, String> losses = SmallRuns.metric(run, "loss_capi");
    for (String step : List.of("step-00000002", "step-00000004")) {
      Path model = run.resolve("checkpoints").resolve(step).resolve(CheckpointStore.MODEL_FILE);
      byte[] bytes = Files.readAllBytes(model);
      bytes[bytes.length - 1] ^= 1;
      Files.write(model, bytes);
    }
    String metrics = Files.readString(run.resolve("metrics.jsonl"));
    List<String> before = listing(run);

    String err = stderr(2, "resume", run.toString());
    assertTrue(err.contains("no valid checkpoint (step-00000004: model.safetensors checksum mismatch; "
        + "step-00000002: model.safetensors checksum mismatch)") && err.contains("--from-scratch"), err);
    assertEquals(metrics, Files.readString(run.resolve("metrics.jsonl")), "metrics.jsonl untouched");
    assertEquals(before, listing(run), "nothing created or deleted");

    // Started without resume's check, the coordinator refuses as well.
    RunDirectory dir = RunDirectory.open(run);
    RunResult r = TrainingRun.run(dir.savedConfig(Overrides.none()), dir, null);
    assertFalse(r.ok());
    assertTrue(r.error().contains("refusing to start again at step 0"), r.error());
    assertEquals(metrics, Files.readString(run.resolve("metrics.jsonl")), "metrics.jsonl untouched");
    assertEquals(before, listing(run), "nothing created or deleted");

    // --from-scratch: the same run again from step 0 (the same losses), the old files kept aside.
    SmallRuns.execute(0, "resume", run.toString(), "--from-scratch");
    assertEquals(losses, SmallRuns.metric(run, "loss_capi"));
    Path aside;
    try (Stream<Path> s = Files.list(run)) {
      aside = s.filter(p -> p.getFileName().toString().startsWith("abandoned-")).findFirst().orElseThrow();
    }
    assertEquals(metrics, Files.readString(aside.resolve("metrics.jsonl")));
    assertTrue(Files.exists(aside.resolve("checkpoints/step-00000004/manifest.json")));
    assertEquals("step-00000004", Files.readString(run.resolve("checkpoints/LATEST")).trim());
    assertEquals(4, CheckpointStore.verify(run.resolve("checkpoints/step-00000004")));
    // ... and --from-scratch of a run that has a valid checkpoint is refused.
    assertTrue(stderr(2, "resume", run.toString(), "--from-scratch").contains("holds a valid checkpoint (step 4)"));
  }

  /** config.conf but no checkpoint (stopped before the first one): nothing to resume. */
  @Test
  @Timeout(300)
  void aRunThatNeverCheckpointedIsRefused() throws Exception {
    Path run = tmp.resolve("early");
    SmallRuns.train(run, "--steps", "3", "--workers", "1", "--batch-size", "8");
    try (Stream<Path> s = Files.walk(run.resolve("checkpoints"))) { // as if killed before its first checkpoint
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) if (!p.equals(run.resolve("checkpoints"))) Files.delete(p);
    }
    String metrics = Files.readString(run.resolve("metrics.jsonl"));
    String err = stderr(2, "resume", run.toString(), "--steps", "6");
    assertTrue(err.contains("holds no checkpoint, so there is nothing to resume"), err);
    assertEquals(metrics, Files.readString(run.resolve("metrics.jsonl")));
  }

  private static List<String> listing(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.map(p -> dir.relativize(p).toString()).sorted().toList();
    }
  }

  private static String stderr(int expectedStatus, String... args) {
    return SmallRuns.execute(expectedStatus, args).err();
  }
}
