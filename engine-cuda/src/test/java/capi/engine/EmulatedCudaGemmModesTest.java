package capi.engine;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;

/** TF32 and bf16-output products on the emulated device (cuBLAS's rounding rules in the naive GEMM). */
class EmulatedCudaGemmModesTest extends CudaGemmModes {
  @Override
  protected Backend create(Precision p, CudaBackend.Options options) {
    return CudaBackends.emulated(p, options);
  }
}
