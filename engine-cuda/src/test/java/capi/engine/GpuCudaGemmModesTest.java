package capi.engine;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import org.junit.jupiter.api.BeforeEach;

/** TF32 and bf16-output products through cuBLAS on device 0; skipped, with the reason, without a GPU. */
class GpuCudaGemmModesTest extends CudaGemmModes {
  @BeforeEach
  void gpu() {
    String why = CudaBackends.unavailable();
    assumeTrue(why == null, why);
  }

  @Override
  protected Backend create(Precision p, CudaBackend.Options options) {
    return CudaBackends.open(p, 0, options);
  }
}
