package capi.engine;

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
    try {
      return provider.create(precision, deviceIndex, threads);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("backend " + name + ": " + oneLine(e), e);
    } catch (RuntimeException | LinkageError e) {
      throw new IllegalArgumentException("backend " + name + " cannot start: " + oneLine(e), e);
    }
  }

  private static String oneLine(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    String msg = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    if (root != e && root.getMessage() != null && !msg.contains(root.getMessage())) msg += " (" + root.getMessage() + ")";
    return msg.replace('\n', ' ');
  }
}
