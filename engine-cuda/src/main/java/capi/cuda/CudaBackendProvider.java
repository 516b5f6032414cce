package capi.cuda;

import capi.engine.Backend;
import capi.engine.BackendProvider;
import capi.engine.Precision;

/**
 * The backend provider "cuda" (META-INF/services/capi.engine.BackendProvider): {@link CudaBackend}
 * on visible GPU {@code deviceIndex}, every precision (float32, bf16-mixed, float64), float32
 * products exact unless TF32 is asked for. Without a usable GPU it throws with {@link CudaBackends#unavailable}'s
 * one line, which {@code Backends.create} reports as "backend cuda cannot start: ...".
 */
public final class CudaBackendProvider implements BackendProvider {
  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public Backend create(Precision precision, int deviceIndex, int threads, boolean tf32) {
    return CudaBackends.open(precision, deviceIndex, new CudaBackend.Options(tf32));
  }

  /** The visible GPUs (CUDA_VISIBLE_DEVICES honoured); 0 without a usable driver. */
  @Override
  public int devices() {
    return Devices.visible().size();
  }
}
