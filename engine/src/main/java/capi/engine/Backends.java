package capi.engine;

import capi.config.EngineConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Backends by provider name ({@link BackendProvider}). */
public final class Backends {
  private Backends() {}

  /** The names of the providers on the class path, in discovery order. */
  public static List<String> names() {
    List<String> out = new ArrayList<>();
    for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) out.add(p.name());
    return out;
  }

  /**
   * A backend of provider {@code name}. Throws IllegalArgumentException with a one-line reason when
   * no provider has that name or the provider cannot start (a missing device or library, a
   * precision it does not support).
   */
  public static Backend create(String name, Precision precision, int deviceIndex, int threads) {
    return create(name, precision, deviceIndex, threads, false);
  }

  /** The backend of worker {@code worker} of this node as capi.engine configures it ({@link EngineConfig}). */
  public static Backend create(EngineConfig engine, int worker, int threads) {
    return create(engine.backend().word(), Precision.of(engine.precision()), engine.deviceOf(worker), threads, engine.tf32());
  }

  private static Backend create(String name, Precision precision, int deviceIndex, int threads, boolean tf32) {
    BackendProvider provider = provider(name);
    try {
      return provider.create(precision, deviceIndex, threads, tf32);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("backend " + name + ": " + oneLine(e), e);
    } catch (RuntimeException | LinkageError e) {
      throw new IllegalArgumentException("backend " + name + " cannot start: " + oneLine(e), e);
    }
  }

  /** How many devices provider {@code name} can use in this process ({@link BackendProvider#devices}). */
  public static int devices(String name) {
    return provider(name).devices();
  }

  private static BackendProvider provider(String name) {
    BackendProvider provider = null;
    try {
      for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
        if (p.name().equals(name)) provider = p;
      }
    } catch (java.util.ServiceConfigurationError | LinkageError e) {
      throw new IllegalArgumentException("backend " + name + ": a provider cannot load: " + oneLine(e));
    }
    if (provider == null) {
      throw new IllegalArgumentException("backend " + name + ": no such provider (available: " + String.join(", ", names()) + ")");
    }
    return provider;
  }

  private static String oneLine(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    String msg = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    if (root != e && root.getMessage() != null && !msg.contains(root.getMessage())) msg += " (" + root.getMessage() + ")";
    return msg.replace('\n', ' ');
  }
}
