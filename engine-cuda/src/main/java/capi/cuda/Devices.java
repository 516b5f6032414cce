package capi.cuda;

import static org.bytedeco.cuda.global.cudart.cuDeviceGetName;
import static org.bytedeco.cuda.global.cudart.cuDeviceTotalMem;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceCount;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The GPUs this process may use: CUDA numbers the devices CUDA_VISIBLE_DEVICES lists (all when it is
 * unset) 0, 1, ... and that index is what {@link CudaBackends#open} takes. Whether CUDA works at
 * all is probed once ({@link #unavailable()}): without a driver (no libcuda.so.1) JavaCPP's cudart
 * fails to load, and that becomes a one-line reason instead of an error later.
 */
public final class Devices {
  private Devices() {}

  /** A visible device: its index (the provider's device argument), name and memory. */
  public record Gpu(int index, String name, long memoryBytes) {}

  private static boolean probed;
  private static String reason;
  private static int count;

  /** Null when CUDA is usable and at least one device is visible, else why not (one line). */
  public static synchronized String unavailable() {
    if (!probed) {
      probed = true;
      try {
        Loader.load(cudart.class);
        int[] n = new int[1];
        int rc = cudaGetDeviceCount(n);
        if (rc != 0) reason = "CUDA: cudaGetDeviceCount failed: " + cudaGetErrorString(rc).getString();
        else if (n[0] == 0) reason = "CUDA: no device visible" + visibleNote();
        count = n[0];
      } catch (Throwable t) {
        reason = "CUDA unavailable: " + oneLine(t);
      }
    }
    return reason;
  }

  private static String visibleNote() {
    String v = System.getenv("CUDA_VISIBLE_DEVICES");
    return v == null ? "" : " (CUDA_VISIBLE_DEVICES=" + v + ")";
  }

  /** The innermost message of t and its causes, on one line (an UnsatisfiedLinkError's cause names libcuda.so.1). */
  static String oneLine(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getClass().getSimpleName() + ": " + root.getMessage();
    return m.replaceAll("\\s+", " ").trim();
  }

  /** The visible devices, in CUDA's order; empty when CUDA is unavailable. */
  public static List<Gpu> visible() {
    List<Gpu> out = new ArrayList<>();
    if (unavailable() != null) return out;
    for (int i = 0; i < count; i++) {
      SizeTPointer mem = new SizeTPointer(1);
      cuDeviceTotalMem(mem, i);
      out.add(new Gpu(i, name(i), mem.get()));
    }
    return out;
  }

  static String name(int index) {
    byte[] b = new byte[256];
    if (cuDeviceGetName(b, b.length, index) != 0) return "device " + index;
    int n = 0;
    while (n < b.length && b[n] != 0) n++;
    return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8);
  }
}
