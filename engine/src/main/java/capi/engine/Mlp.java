package capi.engine;

/**
 * fc1 (D → 4D), exact GELU, fc2 (4D → D); no biases. The pre-activation and activation are
 * compute-dtype (product inputs), the output master (it joins the residual stream).
 */
final class Mlp {
  final Linear fc1;
  final Linear fc2;
  private final Arena arena;
  private final Object scope;
  private Tensor pre; // (rows, 4D) before the GELU
  private Tensor act; // (rows, 4D) after it
  private Tensor x; // the input of the last forward
  private long rows;

  /** @param scope buffers shared with other layers of that scope, or null for buffers of its own */
  Mlp(ParamSet ps, String name, int dim, Arena arena, Object scope) {
    this.fc1 = new Linear(ps, name + ".fc1", dim, 4 * dim);
    this.fc2 = new Linear(ps, name + ".fc2", 4 * dim, dim);
    this.arena = arena;
    this.scope = scope != null ? scope : this;
  }

  /** y (rows, D) ← MLP(x); x must stay untouched until the backward. */
  void forward(Tensor x, long rows, Tensor y) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    this.x = x;
    this.rows = rows;
    pre = arena.get(scope, "pre", arena.compute(), rows * fc1.out);
    act = arena.get(scope, "act", arena.compute(), rows * fc1.out);
    fc1.forward(be, x, rows, pre);
    be.gelu(pre, act);
    fc2.forward(be, act, rows, y);
    arena.profile().add(Profile.Kind.MLP, false, t0);
  }

  /** dx ← ∂L/∂x given dy (compute dtype); weight gradients accumulate. */
  void backward(Tensor dy, Tensor dx) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    Tensor dAct = arena.get(scope, "dAct", arena.compute(), rows * fc1.out);
    fc2.backward(be, act, dy, rows, dAct, false);
    be.geluBackward(pre, dAct, dAct);
    fc1.backward(be, x, dAct, rows, dx, false);
    arena.profile().add(Profile.Kind.MLP, true, t0);
  }
}
