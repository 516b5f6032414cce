package capi.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters of one model in one flat buffer (and its gradients in another of the same
 * layout), each a named view under the reference's name. Layers register their parameters while
 * the model is built; {@link #allocate} then creates the buffers, so the update, the EMA and the
 * checkpoint are whole-buffer operations.
 */
final class ParamSet implements AutoCloseable {
  private final Map<String, Param> byName = new LinkedHashMap<>();
  private long length;
  private Backend backend;
  private Tensor values;
  private Tensor grads;

  Param add(String name, int... shape) {
    if (values != null) throw new IllegalStateException("ParamSet already allocated");
    if (byName.containsKey(name)) throw new IllegalArgumentException("duplicate parameter " + name);
    Param p = new Param(name, shape, length);
    byName.put(name, p);
    length += p.length;
    return p;
  }

  void allocate(Backend be, boolean withGrads) {
    backend = be;
    values = be.allocate(length);
    grads = withGrads ? be.allocate(length) : null;
    for (Param p : byName.values()) {
      p.value = be.view(values, p.offset, p.length);
      p.grad = withGrads ? be.view(grads, p.offset, p.length) : null;
    }
  }

  long length() {
    return length;
  }

  Tensor values() {
    return values;
  }

  Tensor grads() {
    return grads;
  }

  Param get(String name) {
    Param p = byName.get(name);
    if (p == null) throw new IllegalArgumentException("no parameter " + name);
    return p;
  }

  List<Param> params() {
    return Collections.unmodifiableList(new ArrayList<>(byName.values()));
  }

  @Override
  public void close() {
    if (backend != null) {
      backend.free(values);
      backend.free(grads);
    }
  }
}
