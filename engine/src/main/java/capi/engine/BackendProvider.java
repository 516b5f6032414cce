package capi.engine;

/**
 * A named way to create a {@link Backend}, found with {@link java.util.ServiceLoader}: a module
 * lists its providers in {@code META-INF/services/capi.engine.BackendProvider}. The engine brings
 * "cpu"; a GPU module (engine-cuda) adds its own without the engine depending on it.
 */
public interface BackendProvider {
  /** The name configuration uses ("cpu", "cuda"). */
  String name();

  /**
   * A backend on device {@code deviceIndex} (ignored by the cpu) with {@code threads} compute
   * threads (ignored by GPUs); {@code tf32} lets float32 products use TF32 tensor cores (GPUs that
   * have them; the cpu ignores it). Throws IllegalArgumentException for a precision it does not
   * support, and anything else when the device cannot start.
   */
  Backend create(Precision precision, int deviceIndex, int threads, boolean tf32);

  /** The devices of this kind the process may use (the cpu is one; 0 where none can start). */
  default int devices() {
    return 1;
  }
}
