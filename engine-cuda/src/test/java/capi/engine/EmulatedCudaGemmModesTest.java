package capi.engine;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;

/** TF32 and bf16-input GEMMs on the emulated device (cuBLAS's rounding rules in the naive GEMM). */
class EmulatedCudaGemmModesTest extends CudaGemmModes {
  @Override
  protected Backend create(CudaBackend.Options options) {
    return CudaBackends.emulated(Precision.FLOAT32, options);
  }
}
