package capi.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters of one model in one flat buffer (and its gradients and compute copy in buffers
 * of the same layout), each a named view under the reference's name. Layers register their
 * parameters while the model is built; {@link #bind} then points them into buffers the trainer
 * owns, so the update, the EMA, the all-reduce and the checkpoint are whole-buffer operations.
 */
final class ParamSet {
  private final Map<String, Param> byName = new LinkedHashMap<>();
  private final List<Param> spans = new ArrayList<>();
  private long length;
  private Backend backend;
  private Tensor values;
  private Tensor grads;
  private Tensor compute;

  Param add(String name, int... shape) {
    if (values != null) throw new IllegalStateException("ParamSet already bound");
    if (byName.containsKey(name)) throw new IllegalArgumentException("duplicate parameter " + name);
    Param p = new Param(name, shape, length);
    byName.put(name, p);
    length += p.length;
    return p;
  }

  /** One parameter over consecutive ones (first … last, registered in that order). */
  Param span(Param first, Param last) {
    if (last.offset < first.offset) throw new IllegalArgumentException(first.name + " after " + last.name);
    Param p = new Param(first.name + ".." + last.name, first.offset, last.offset + last.length - first.offset);
    spans.add(p);
    return p;
  }

  /**
   * Points every parameter into values, grads (null: none) and compute (null: the values
   * themselves), each of {@link #length()} elements.
   */
  void bind(Backend be, Tensor values, Tensor grads, Tensor compute) {
    backend = be;
    this.values = values;
    this.grads = grads;
    this.compute = compute != null ? compute : values;
    for (Param p : byName.values()) bind(be, p);
    for (Param p : spans) bind(be, p);
  }

  private void bind(Backend be, Param p) {
    p.value = be.view(values, p.offset, p.length);
    p.grad = grads == null ? null : be.view(grads, p.offset, p.length);
    p.compute = compute == values ? p.value : be.view(compute, p.offset, p.length);
  }

  /** A standalone set (tests): its own zeroed buffers in the backend's dtypes. */
  void allocate(Backend be, boolean withGrads) {
    Precision pr = be.precision();
    bind(be, be.allocate(pr.master(), length), withGrads ? be.allocate(pr.master(), length) : null,
        pr.compute() == pr.master() ? null : be.allocate(pr.compute(), length));
  }

  /** The compute copy ← the values (nothing to do when they are the same buffer). */
  void refreshCompute() {
    if (compute != values) backend.copy(values, compute);
  }

  /** Reads the current values of the parameters whose names contain {@code marker} into their host copies. */
  void syncHost(String marker) {
    for (Param p : byName.values()) {
      if (!p.name.contains(marker)) continue;
      if (p.host == null) p.host = new double[(int) p.length];
      backend.download(p.value, 0, p.host, 0, p.host.length);
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
}
