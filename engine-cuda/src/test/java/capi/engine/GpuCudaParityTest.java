package capi.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import capi.testsupport.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Golden parity (capi-tiny-a) on a real GPU, float32 and float64; skipped, with the reason, without one. */
@ExtendWith(GpuOnly.class)
class GpuCudaParityTest {
  @Test
  @Timeout(120)
  void float64() throws Exception {
    check(Precision.FLOAT64);
  }

  @Test
  @Timeout(120)
  void float32() throws Exception {
    check(Precision.FLOAT32);
  }

  private static void check(Precision p) throws Exception {
    GoldenParity.Result r = GoldenParity.run(TestData.golden(TestData.TINY_A), p, q -> CudaBackends.open(q, 0, CudaBackend.Options.EXACT));
    System.out.printf("GPU parity %s: max_rel_err=%.3e%n", p, r.maxRelErr());
    assertTrue(r.passed(), "max relative error " + r.maxRelErr());
  }
}
