package capi.engine;

/** RMSNorm over the last dimension, eps 1e-5, with a learned gain or (final norms) without. */
final class RmsNorm {
  static final double EPS = 1e-5;
  final Param weight; // null: no affine weight
  final int dim;
  private final Arena arena;
  private Tensor rstd; // (rows)

  RmsNorm(ParamSet ps, String name, int dim, Arena arena) {
    this.weight = name == null ? null : ps.add(name + ".weight", dim);
    this.dim = dim;
    this.arena = arena;
  }

  /** y (rows, dim) ← RMSNorm(x); keeps 1/rms for the backward. */
  void forward(Tensor x, int rows, Tensor y) {
    long t0 = Profile.now();
    rstd = arena.get(rstd, rows);
    arena.backend().rmsNorm(x, weight == null ? null : weight.value, rows, dim, EPS, y, rstd);
    arena.profile().add(Profile.Kind.NORM, false, t0);
  }

  /** dx += ∂L/∂x for the x of the last forward; the gain's gradient accumulates. */
  void backward(Tensor x, Tensor dy, int rows, Tensor dx) {
    long t0 = Profile.now();
    arena.backend().rmsNormBackward(x, weight == null ? null : weight.value, rstd, dy, rows, dim, dx,
        weight == null ? null : weight.grad);
    arena.profile().add(Profile.Kind.NORM, true, t0);
  }
}
