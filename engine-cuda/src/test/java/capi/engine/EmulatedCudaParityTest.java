package capi.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import capi.testsupport.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The reference's two golden iterations (capi-tiny-a) through the whole CAPI step on the CUDA
 * backend, its kernels run by the CPU emulation: the same tolerances as the CPU backend's parity.
 */
class EmulatedCudaParityTest {
  @Test
  @Timeout(300)
  void float64MatchesTheReference() throws Exception {
    check(Precision.FLOAT64);
  }

  @Test
  @Timeout(300)
  void float32MatchesTheReference() throws Exception {
    check(Precision.FLOAT32);
  }

  private static void check(Precision p) throws Exception {
    GoldenParity.Result r = GoldenParity.run(TestData.golden(TestData.TINY_A), p, q -> CudaBackends.emulated(q, CudaBackend.Options.EXACT));
    System.out.printf("emulated CUDA parity %s: %d tensors, max_rel_err=%.3e%n", p, r.rows().size(), r.maxRelErr());
    StringBuilder failures = new StringBuilder();
    for (GoldenParity.Row row : r.rows()) {
      if (!row.ok()) failures.append(String.format("%n  %-80s %.3e > %.0e", row.key(), row.relErr(), row.tolerance()));
    }
    assertTrue(r.passed(), "tensors off the golden values:" + failures);
  }
}
