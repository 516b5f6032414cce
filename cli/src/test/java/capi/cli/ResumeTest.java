package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact resume: a run of 2N steps and a run of N steps resumed to 2N log bit-identical losses, also
 * past a damaged newest checkpoint and a garbled LATEST.
 */
class ResumeTest {
  @TempDir Path tmp;

  @Test
  @Timeout(300)
  void resumedRunReproducesTheUninterruptedOne() throws Exception {
    Path whole = tmp.resolve("whole");
    Path split = tmp.resolve("split");
    String schedule = d("optim.schedule-steps", "8");
    SmallRuns.train(whole, "--steps", "8", "--checkpoint-every", "4", "--workers", "2", "--batch-size", "8", schedule);
    SmallRuns.train(split, "--steps", "4", "--checkpoint-every", "4", "--workers", "2", "--batch-size", "8", schedule);
    assertEquals(0, Main.execute(SmallRuns.args("resume", List.of(split.toString(), "--steps", "8"))));

    for (String field : List.of("loss_capi", "loss_clustering")) {
      Map<Long, String> a = SmallRuns.metric(whole, field);
      Map<Long, String> b = SmallRuns.metric(split, field);
      assertEquals(8, a.size());
      assertEquals(a, b, field + " of the resumed run");
    }
    assertTrue(Files.exists(split.resolve("checkpoints/step-00000008/manifest.json")));

    // A damaged newest checkpoint: resume warns, falls back to step 4 and computes 5..8 again, identically.
    Path model = split.resolve("checkpoints/step-00000008/model.safetensors");
    byte[] bytes = Files.readAllBytes(model);
    bytes[bytes.length - 5] ^= 0x5A;
    Files.write(model, bytes);
    assertEquals(0, Main.execute(SmallRuns.args("resume", List.of(split.toString(), "--steps", "8"))));
    assertEquals(SmallRuns.metric(whole, "loss_capi"), SmallRuns.metric(split, "loss_capi"),
        "after falling back past a damaged checkpoint");

    // A LATEST with a byte that is not UTF-8 and a NUL is passed over; the run, finished at step 8,
    // reports the loss it logged last.
    Files.write(split.resolve("checkpoints/LATEST"), new byte[] {'s', 't', 'e', 'p', (byte) 0xff, 0, '\n'});
    String done = SmallRuns.lastLine(SmallRuns.execute(0, "resume", split.toString()).out());
    assertTrue(done.startsWith("{\"event\":\"done\",\"steps\":8,"), done);
    assertTrue(done.contains("\"loss_capi\":" + SmallRuns.metric(split, "loss_capi").get(8L) + ","), done);
  }
}
