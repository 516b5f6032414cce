package capi.engine;

import capi.cuda.CudaBackend;
import capi.cuda.CudaBackends;
import java.util.List;
import org.junit.jupiter.api.extension.ExtendWith;

/** The conformance suite on a real GPU (device 0), every precision; skipped, with the reason, where there is none. */
@ExtendWith(GpuOnly.class)
class GpuCudaConformanceTest extends BackendConformance {
  @Override
  protected Backend create(Precision p) {
    return CudaBackends.open(p, 0, CudaBackend.Options.EXACT);
  }

  @Override
  protected List<Precision> precisions() {
    return List.of(Precision.FLOAT64, Precision.FLOAT32, Precision.BF16_MIXED);
  }
}
