package capi.engine;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import org.junit.jupiter.api.extension.ExtendWith;

/** bf16-mixed steps of the CUDA backend on device 0 against the reference; skipped, with the reason, without a GPU. */
@ExtendWith(GpuOnly.class)
class GpuCudaBf16MixedTest extends CudaBf16Mixed {
  @Override
  protected Backend create(Precision p) {
    return CudaBackends.open(p, 0, CudaBackend.Options.EXACT);
  }
}
