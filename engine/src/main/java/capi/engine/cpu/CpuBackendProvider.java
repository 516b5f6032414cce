package capi.engine.cpu;

import capi.engine.Backend;
import capi.engine.BackendProvider;
import capi.engine.Precision;

/** The built-in "cpu" backend: {@link CpuBackend} with the given threads (it needs the Vector API module). */
public final class CpuBackendProvider implements BackendProvider {
  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public Backend create(Precision precision, int deviceIndex, int threads, boolean tf32) {
    try {
      return new CpuBackend(precision, threads);
    } catch (NoClassDefFoundError e) {
      throw new IllegalStateException("the cpu backend needs the JDK's Vector API: run java with --add-modules jdk.incubator.vector", e);
    }
  }
}
