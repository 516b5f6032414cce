package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** capi.train.max-minutes: stop after that much wall time with a checkpoint and exit 0 (CLI.md). */
class MaxMinutesTest {
  @TempDir Path tmp;

  @Test
  @Timeout(180)
  void stopsWithACheckpointWhenTimeIsUp() throws Exception {
    Path run = tmp.resolve("run");
    SmallRuns.train(run, "--steps", "1000000", "--workers", "1", "--batch-size", "4",
        d("train.max-minutes", "0.1"));
    Map<Long, String> losses = SmallRuns.metric(run, "loss_capi");
    long last = losses.size();
    assertTrue(last >= 1 && last < 1000000, "stopped early after " + last + " steps");
    String latest = Files.readString(run.resolve("checkpoints/LATEST")).trim();
    assertEquals(String.format("step-%08d", last), latest, "a checkpoint of the last step");
  }
}
