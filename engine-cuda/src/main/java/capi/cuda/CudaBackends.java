package capi.cuda;

import capi.engine.Precision;

/**
 * How the CUDA backend is made: on a visible GPU ({@link #open}; the provider "cuda",
 * {@link CudaBackendProvider}, calls it) or on the CPU emulation of the kernels ({@link #emulated},
 * for tests).
 */
public final class CudaBackends {
  private CudaBackends() {}

  /** Null when {@link #open} can work here, else why not (one line). */
  public static String unavailable() {
    String why = Devices.unavailable();
    if (why != null) return why;
    if (NativeResources.bytes("kernels.fatbin") == null) {
      byte[] m = NativeResources.bytes("kernels.missing");
      return m != null ? "CUDA backend " + new String(m).trim() : "CUDA backend built without kernels";
    }
    return null;
  }

  /**
   * A backend on visible device `device` (0 .. visible − 1, after CUDA_VISIBLE_DEVICES). Call it on
   * the worker's own thread; later calls may come from any thread.
   *
   * @throws IllegalStateException with a one-line reason when there is no usable GPU
   */
  public static CudaBackend open(Precision precision, int device, CudaBackend.Options options) {
    String why = unavailable();
    if (why != null) throw new IllegalStateException(why);
    return new CudaBackend(new CudaDevice(device), precision, options);
  }

  /** The same backend on the CPU emulation of the kernels: slow, for tests on small shapes. */
  public static CudaBackend emulated(Precision precision, CudaBackend.Options options) {
    return new CudaBackend(new EmulatedDevice(), precision, options);
  }
}
