package capi.engine;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import org.junit.jupiter.api.extension.ExtendWith;

/** TF32 and bf16-output products through cuBLAS on device 0; skipped, with the reason, without a GPU. */
@ExtendWith(GpuOnly.class)
class GpuCudaGemmModesTest extends CudaGemmModes {
  @Override
  protected Backend create(Precision p, CudaBackend.Options options) {
    return CudaBackends.open(p, 0, options);
  }
}
