package capi.engine;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import org.junit.jupiter.api.BeforeEach;

/** bf16-mixed steps of the CUDA backend on device 0 against the reference; skipped, with the reason, without a GPU. */
class GpuCudaBf16MixedTest extends CudaBf16Mixed {
  @BeforeEach
  void gpu() {
    String why = CudaBackends.unavailable();
    assumeTrue(why == null, why);
  }

  @Override
  protected Backend create(Precision p) {
    return CudaBackends.open(p, 0, CudaBackend.Options.EXACT);
  }
}
