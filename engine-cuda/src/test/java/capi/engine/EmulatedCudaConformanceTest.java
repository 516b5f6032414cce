package capi.engine;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;

/** The CUDA backend's kernels and GEMM mapping, run on the CPU emulation, against the reference. */
class EmulatedCudaConformanceTest extends BackendConformance {
  @Override
  protected Backend create(Precision p) {
    return CudaBackends.emulated(p, CudaBackend.Options.EXACT);
  }
}
