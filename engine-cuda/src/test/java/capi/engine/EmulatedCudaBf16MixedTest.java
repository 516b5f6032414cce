package capi.engine;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;

/** bf16-mixed steps of the CUDA backend on the emulated device against the reference. */
class EmulatedCudaBf16MixedTest extends CudaBf16Mixed {
  @Override
  protected Backend create(Precision p) {
    return CudaBackends.emulated(p, CudaBackend.Options.EXACT);
  }
}
