package capi.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Activation memory of one model: buffers are allocated the first time a step shape needs them
 * and reused by every later step of that shape, so native memory stays flat over a run and never
 * waits for the Java GC.
 */
final class Arena implements AutoCloseable {
  private final Backend backend;
  private final List<Tensor> owned = new ArrayList<>();
  private final Profile profile;

  Arena(Backend backend, Profile profile) {
    this.backend = backend;
    this.profile = profile;
  }

  Backend backend() {
    return backend;
  }

  Profile profile() {
    return profile;
  }

  /** {@code current} if it has exactly {@code length} elements, else a fresh zeroed buffer. */
  Tensor get(Tensor current, long length) {
    if (current != null && current.length() == length) return current;
    if (current != null) {
      owned.remove(current);
      backend.free(current);
    }
    Tensor t = backend.allocate(length);
    owned.add(t);
    return t;
  }

  @Override
  public void close() {
    for (Tensor t : owned) backend.free(t);
    owned.clear();
  }
}
