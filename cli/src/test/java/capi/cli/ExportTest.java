package capi.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CapiConfig;
import capi.engine.NamedTensor;
import capi.engine.checkpoint.CheckpointStore;
import capi.engine.checkpoint.SafeTensors;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** `capi export` writes the teacher backbone under the reference's names with the checkpoint's values. */
class ExportTest {
  @TempDir Path tmp;

  @Test
  @Timeout(300)
  void exportsTheTeacherBackbone() throws Exception {
    Path run = tmp.resolve("run");
    SmallRuns.train(run, "--steps", "2", "--workers", "1", "--batch-size", "4");
    Path out = tmp.resolve("teacher.safetensors");
    String line = SmallRuns.lastLine(SmallRuns.execute(0, "export", run.toString(), "--out", out.toString()).out());

    CheckpointStore.Checkpoint used = CheckpointStore.locate(run, w -> {});
    assertTrue(line.startsWith("{\"event\":\"export\",\"tensors\":") && line.contains(",\"checkpoint\":\""
        + used.dir() + "\",\"step\":2,"), "the final line names the checkpoint and its step: " + line);
    Map<String, NamedTensor> exported = SafeTensors.read(out);
    Map<String, NamedTensor> saved = used.tensors();
    assertTrue(exported.containsKey("backbone.encoder.blocks.0.residual1.fn.q_proj.weight"), exported.keySet().toString());
    assertTrue(exported.containsKey("backbone.patch_embed.weight"));
    assertTrue(exported.containsKey("backbone.registers"));
    int p = CapiConfig.preset("tiny").model().patchSize(); // (D, C, p, p) as in the reference
    assertArrayEquals(new int[] {32, 1, p, p}, exported.get("backbone.patch_embed.weight").shape());
    for (NamedTensor t : exported.values()) {
      assertTrue(t.name().startsWith("backbone."), t.name());
      NamedTensor s = saved.get("teacher/" + t.name());
      assertArrayEquals(s.shape(), t.shape(), t.name());
      assertArrayEquals(s.data(), t.data(), t.name());
    }
  }
}
