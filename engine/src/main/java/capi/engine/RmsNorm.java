package capi.engine;

/** RMSNorm over the last dimension, eps 1e-5, with a learned gain or (final norms) without; computed in fp32. */
final class RmsNorm {
  static final double EPS = 1e-5;
  final Param weight; // null: no affine weight
  final int dim;
  private final Arena arena;
  private final Object scope; // whose buffers these are (see Arena#get(Object, String, DType, long))
  private Tensor rstd; // (rows), master dtype

  /** @param scope buffers shared with other layers of that scope, or null for buffers of its own */
  RmsNorm(ParamSet ps, String name, int dim, Arena arena, Object scope) {
    this.weight = name == null ? null : ps.add(name + ".weight", dim);
    this.dim = dim;
    this.arena = arena;
    this.scope = scope != null ? scope : this;
  }

  /** y (rows, dim) ← RMSNorm(x), in y's dtype; keeps 1/rms for the backward. */
  void forward(Tensor x, long rows, Tensor y) {
    long t0 = Profile.now();
    rstd = arena.get(scope, "rstd", arena.master(), rows);
    arena.backend().rmsNorm(x, weight == null ? null : weight.value, rows, dim, EPS, y, rstd);
    arena.profile().add(Profile.Kind.NORM, false, t0);
  }

  /** dx += ∂L/∂x for the x of the last forward; the gain's gradient accumulates. */
  void backward(Tensor x, Tensor dy, long rows, Tensor dx) {
    long t0 = Profile.now();
    arena.backend().rmsNormBackward(x, weight == null ? null : weight.value, rstd, dy, rows, dim, dx,
        weight == null ? null : weight.grad);
    arena.profile().add(Profile.Kind.NORM, true, t0);
  }
}
