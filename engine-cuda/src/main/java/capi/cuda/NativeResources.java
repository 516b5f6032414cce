package capi.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The build's native outputs, shipped as resources under capi/cuda/ (engine-cuda's build.sh):
 * kernels.fatbin and kernels.ptx from nvcc, or kernels.missing saying why there are none, and the
 * emulator's libcapi-emulator.so.
 */
final class NativeResources {
  private NativeResources() {}

  /** The bytes of resource capi/cuda/NAME, or null when the build did not produce it. */
  static byte[] bytes(String name) {
    try (InputStream in = NativeResources.class.getResourceAsStream(name)) {
      return in == null ? null : in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The compiled kernels (fatbin), or an exception naming why the build has none. */
  static byte[] fatbin() {
    byte[] b = bytes("kernels.fatbin");
    if (b != null) return b;
    byte[] why = bytes("kernels.missing");
    throw new IllegalStateException(why != null ? new String(why).trim() : "built without kernels: capi/cuda/kernels.fatbin is not on the classpath");
  }

  /** Copies resource NAME to a temporary file (deleted on exit) and returns its path. */
  static Path extract(String name) {
    byte[] b = bytes(name);
    if (b == null) {
      throw new IllegalStateException("capi/cuda/" + name + " is not on the classpath: engine-cuda was built without it"
          + " (its build needs g++ and the CUDA headers, /usr/local/cuda/include/cuda_bf16.h; rebuild with mvn -pl engine-cuda install)");
    }
    try {
      Path p = Files.createTempFile("capi-", "-" + name);
      Files.write(p, b);
      p.toFile().deleteOnExit();
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

}
