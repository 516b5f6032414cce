package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel equivalence: with drop path 0, K workers and 1 worker given the same global batch
 * compute the same losses (Sinkhorn over the global batch and gradient averaging make the step one
 * computation), up to float32 summation order.
 */
class DataParallelTest {
  @TempDir Path tmp;

  @Test
  @Timeout(600)
  void twoAndThreeWorkersMatchOne() throws Exception {
    Map<Long, String> one = run(1);
    for (int k : new int[] {2, 3}) {
      Map<Long, String> many = run(k);
      assertEquals(one.keySet(), many.keySet());
      for (Long step : one.keySet()) {
        double a = Double.parseDouble(one.get(step));
        double b = Double.parseDouble(many.get(step));
        assertEquals(a, b, 2e-4 * Math.abs(a), "loss_capi at step " + step + " with " + k + " workers");
      }
    }
  }

  private Map<Long, String> run(int workers) throws Exception {
    Path dir = tmp.resolve("k" + workers);
    SmallRuns.train(dir, "--steps", "4", "--workers", Integer.toString(workers), "--batch-size", "6",
        "-Dcapi.model.drop-path-rate=0");
    return SmallRuns.metric(dir, "loss_capi");
  }
}
