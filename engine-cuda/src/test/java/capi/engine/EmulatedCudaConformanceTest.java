package capi.engine;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import java.util.List;

/**
 * The CUDA backend's kernels and product mapping, run on the CPU emulation, against the reference:
 * every primitive in float64, float32 and bf16-mixed (BF16 compute tensors; the reference rounds
 * them as a bf16 device stores them).
 */
class EmulatedCudaConformanceTest extends BackendConformance {
  @Override
  protected Backend create(Precision p) {
    return CudaBackends.emulated(p, CudaBackend.Options.EXACT);
  }

  @Override
  protected List<Precision> precisions() {
    return List.of(Precision.FLOAT64, Precision.FLOAT32, Precision.BF16_MIXED);
  }
}
