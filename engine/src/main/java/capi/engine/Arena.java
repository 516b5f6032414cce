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
  private final java.util.Map<Slot, Tensor> slots = new java.util.HashMap<>();
  private final Profile profile;

  /** A named buffer of a scope: a layer, or several layers that never need their buffers at once. */
  private record Slot(Object scope, String name) {}

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

  /**
   * The buffer `name` of `scope` with exactly `length` elements (reallocated when the length
   * changes). Layers that share a scope share their buffers: the teacher's blocks, which keep
   * nothing for a backward, share one set.
   */
  Tensor get(Object scope, String name, long length) {
    Slot key = new Slot(scope, name);
    Tensor t = get(slots.get(key), length);
    slots.put(key, t);
    return t;
  }

  @Override
  public void close() {
    for (Tensor t : owned) backend.free(t);
    owned.clear();
    slots.clear();
  }
}
