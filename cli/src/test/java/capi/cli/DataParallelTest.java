package capi.cli;

import static capi.cli.SmallRuns.d;

import java.nio.file.Path;
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
    Path one = run(1);
    for (int k : new int[] {2, 3}) SmallRuns.assertSameLosses(one, run(k), "with " + k + " workers");
  }

  private Path run(int workers) {
    Path dir = tmp.resolve("k" + workers);
    SmallRuns.train(dir, "--steps", "4", "--workers", Integer.toString(workers), "--batch-size", "6",
        d("model.drop-path-rate", "0"));
    return dir;
  }
}
