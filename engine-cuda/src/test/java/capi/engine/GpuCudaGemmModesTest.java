package capi.engine;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import org.junit.jupiter.api.BeforeEach;

/** TF32 and bf16-input GEMMs through cuBLAS on device 0; skipped, with the reason, without a GPU. */
class GpuCudaGemmModesTest extends CudaGemmModes {
  @BeforeEach
  void gpu() {
    String why = CudaBackends.unavailable();
    assumeTrue(why == null, why);
  }

  @Override
  protected Backend create(CudaBackend.Options options) {
    return CudaBackends.open(Precision.FLOAT32, 0, options);
  }
}
