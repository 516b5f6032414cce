package capi.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Activation memory of one model: buffers are allocated the first time a step shape needs them
 * and reused by every later step of that shape, so memory stays flat over a run and never waits
 * for the Java GC. Views into them are cached the same way (no allocation in a step).
 */
final class Arena implements AutoCloseable {
  private final Backend backend;
  private final List<Tensor> owned = new ArrayList<>();
  private final Map<Slot, Tensor> slots = new HashMap<>();
  private final Map<ViewKey, Tensor> views = new HashMap<>();
  private final Profile profile;

  /** A named buffer of a scope: a layer, or several layers that never need their buffers at once. */
  private record Slot(Object scope, String name) {}

  private record ViewKey(Tensor parent, long offset, long length) {}

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

  /** The precision's dtype for parameters and fp32 activations. */
  DType master() {
    return backend.precision().master();
  }

  /** The precision's dtype for matrix-product inputs. */
  DType compute() {
    return backend.precision().compute();
  }

  /** {@code current} if it has exactly this dtype and length, else a fresh zeroed buffer. */
  Tensor get(Tensor current, DType dtype, long length) {
    if (current != null && current.length() == length && current.dtype() == dtype) return current;
    if (current != null) {
      owned.remove(current);
      backend.free(current);
    }
    Tensor t = backend.allocate(dtype, length);
    owned.add(t);
    return t;
  }

  /**
   * The buffer `name` of `scope` with exactly this dtype and length (reallocated when either
   * changes). Layers that share a scope share their buffers: the teacher's blocks, which keep
   * nothing for a backward, share one set.
   */
  Tensor get(Object scope, String name, DType dtype, long length) {
    Slot key = new Slot(scope, name);
    Tensor t = get(slots.get(key), dtype, length);
    slots.put(key, t);
    return t;
  }

  /** A cached view [offset, offset + length) of parent. */
  Tensor view(Tensor parent, long offset, long length) {
    return views.computeIfAbsent(new ViewKey(parent, offset, length), k -> backend.view(parent, offset, length));
  }

  @Override
  public void close() {
    for (Tensor t : owned) backend.free(t);
    owned.clear();
    slots.clear();
    views.clear();
  }
}
