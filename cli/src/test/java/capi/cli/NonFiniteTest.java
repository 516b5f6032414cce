package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.engine.NamedTensor;
import capi.engine.checkpoint.CheckpointStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A run that really diverges — learning rate 10 and weight decay 10, so AdamW's decoupled decay
 * w ← (1 − lr·wd)·w multiplies the weights by up to −99 a step until float32 overflows — never logs
 * or checkpoints a NaN or an infinity: the coordinator rejects the step (or the replica at a
 * checkpoint), rolls back to the last checkpoint and counts it (capi_recoveries{reason="non_finite"});
 * the same failure at the same step a fourth time ends the run with a clear error and exit 1. With
 * checkpoints every 4 steps the replica at step 12 already holds infinite AdamW moments (its
 * checkpoint is refused); every 5 steps the loss of step 13 is NaN (the step is refused).
 */
class NonFiniteTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(ints = {4, 5})
  @Timeout(300)
  void aDivergingRunIsRolledBackThenStoppedWithItsCheckpointsFinite(int checkpointEvery) throws Exception {
    Path run = tmp.resolve("run");
    List<String> args = new ArrayList<>(List.of("train", "--run-dir", run.toString(), "--steps", "40",
        "--checkpoint-every", Integer.toString(checkpointEvery), "--workers", "1", "--batch-size", "8",
        d("optim.lr", 10), d("optim.weight-decay", 10), d("optim.warmup-fraction", 0.5)));
    args.addAll(SmallRuns.small());
    SmallRuns.Output o = SmallRuns.execute(Main.EXIT_FAILURE, args.toArray(String[]::new));

    Matcher giveUp = Pattern.compile("capi: run failed: giving up: non_finite at step (\\d+) 4 times; last: .*(NaN|Infinity)")
        .matcher(o.err());
    assertTrue(giveUp.find(), o.err());
    long failingStep = Long.parseLong(giveUp.group(1));
    assertEquals(4, o.err().lines().filter(l -> l.contains("recovering (non_finite)")).count(), o.err());

    Map<Long, String> losses = SmallRuns.metric(run, "loss_capi");
    for (String field : List.of("loss_capi", "loss_clustering", "grad_norm")) {
      for (Map.Entry<Long, String> e : SmallRuns.metric(run, field).entrySet()) {
        assertTrue(Double.isFinite(Double.parseDouble(e.getValue())), field + " at step " + e.getKey() + ": " + e.getValue());
      }
    }
    assertTrue(losses.size() <= failingStep && losses.size() >= failingStep - 1, "logged up to step " + failingStep
        + " (a rejected step) or including it (a rejected checkpoint): " + losses.keySet());

    CheckpointStore.Checkpoint last = CheckpointStore.locate(run, w -> {});
    assertTrue(last.step() > 0 && last.step() < failingStep, "the last checkpoint, " + last.step() + ", is before the failure");
    for (NamedTensor t : last.tensors().values()) {
      for (float v : t.data()) assertTrue(Float.isFinite(v), t.name() + " holds " + v);
    }
  }
}
