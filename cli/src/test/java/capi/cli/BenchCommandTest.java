package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** `capi bench` ends with one JSON line and appends it, with where it was measured, to the results file. */
class BenchCommandTest {
  @TempDir Path tmp;

  @Test
  @Timeout(300)
  void stepAndDataBenchesAppendTheirLinesToTheResults() throws Exception {
    Path results = tmp.resolve("bench.jsonl");
    String stepOut = SmallRuns.execute(0, "bench", "--what", "step", "--steps", "2", "--batch-size", "4", "--warmup", "0",
        "--results", results.toString(), d("model.dim", 32), d("model.heads", 2), d("model.depth", 1),
        d("model.pred-dim", 32), d("model.pred-heads", 2), d("model.pred-depth", 1), d("model.prototypes", 64)).out();
    String step = SmallRuns.lastLine(stepOut);
    String data = SmallRuns.lastLine(SmallRuns.execute(0, "bench", "--what", "data", "--dataset", "synthetic:64",
        "--steps", "2", "--batch-size", "8", "--results", results.toString()).out());
    assertEquals(List.of(step, data), Files.readAllLines(results));

    ObjectMapper json = new ObjectMapper();
    JsonNode s = json.readTree(step);
    assertEquals("bench", s.get("event").asText());
    assertEquals("step", s.get("what").asText());
    assertTrue(s.get("img_per_s").asDouble() > 0 && s.get("peak_rss_bytes").asLong() > 0, step);
    // the tiny preset at width 32, depth 1/1, K 64, batch 4: its model FLOPs, their share of the measured sgemm peak
    capi.config.ModelConfig model = capi.config.CapiConfig.preset("tiny").with(capi.config.Overrides.none()
        .set("model.dim", 32).set("model.heads", 2).set("model.depth", 1).set("model.pred-dim", 32)
        .set("model.pred-heads", 2).set("model.pred-depth", 1).set("model.prototypes", 64)).model();
    assertEquals(capi.engine.StepBenchmark.modelFlops(model, 4), s.get("model_flops_per_step").asDouble(),
        1e-3 * s.get("model_flops_per_step").asDouble(), step);
    assertTrue(s.get("mfu").asDouble() > 0 && s.get("sgemm_peak_gflops_per_s").asDouble() > 0, step);
    assertTrue(s.get("median_ms_per_step").asDouble() > 0, step);
    assertTrue(stepOut.contains("peer: capi_step_cpu.py --img 28 --in-chans 1 --patch 7 --dim 32 --heads 2 --enc-depth 1"
        + " --dec-depth 1 --registers 4 --clusters 64 --batch 4 --mask-ratio 0.65 --pred-sub 0.5 --drop-path 0.0 --threads "
        + Runtime.getRuntime().availableProcessors()), stepOut);
    JsonNode d = json.readTree(data);
    assertEquals("data", d.get("what").asText());
    assertEquals("synthetic:64", d.get("dataset").asText());
    assertTrue(d.get("img_per_s").asDouble() > 0, data);
    for (JsonNode row : List.of(s, d)) {
      assertEquals(Runtime.getRuntime().availableProcessors(), row.get("cores").asInt());
      assertTrue(!row.get("cpu").asText().isEmpty() && !row.get("commit").asText().isEmpty()
          && !row.get("time").asText().isEmpty() && row.get("load1").isNumber(), row.toString());
    }
  }
}
