package capi.engine;

/**
 * The student head (reference L2NormLinear with weight norm): logits = W·x/max(‖x‖, 1e-12) with
 * W = g ⊙ V/(‖V_row‖ + 1e-8), V (K, Dp), g (K, 1) trainable; no bias. The normalised rows and W
 * are compute dtype (product inputs), norms and logits master.
 */
final class StudentHead {
  static final double EPS = 1e-12;
  final Param g;
  final Param v;
  final int in;
  final int out;
  private final Arena arena;
  private Tensor u, norms, w, vNorms, logits;
  private long rows;

  StudentHead(ParamSet ps, int in, int out, Arena arena) {
    this.g = ps.add("head.last_layer.weight_g", out, 1);
    this.v = ps.add("head.last_layer.weight_v", out, in);
    this.in = in;
    this.out = out;
    this.arena = arena;
  }

  /** logits (rows, K) of x (rows, Dp); x need not be kept. */
  Tensor forward(Tensor x, long rows) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    this.rows = rows;
    u = arena.get(this, "u", arena.compute(), rows * in);
    norms = arena.get(this, "norms", arena.master(), rows);
    w = arena.get(this, "w", arena.compute(), (long) out * in);
    vNorms = arena.get(this, "vNorms", arena.master(), out);
    logits = arena.get(this, "logits", arena.master(), rows * out);
    be.l2Normalize(x, rows, in, EPS, u, norms);
    be.weightNorm(v.value, g.value, out, in, w, vNorms);
    be.gemm(false, true, (int) rows, out, in, 1, u, 0, in, w, 0, in, 0, logits, 0, out, 1, 0, 0, 0);
    arena.profile().add(Profile.Kind.STUDENT_HEAD, false, t0);
    return logits;
  }

  /** dx (rows, Dp) ← ∂L/∂x given ∂L/∂logits (compute dtype); g and V gradients accumulate. */
  void backward(Tensor dLogits, Tensor dx) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    Tensor dW = arena.get(this, "dW", arena.master(), (long) out * in);
    Tensor du = arena.get(this, "du", arena.master(), rows * in);
    be.gemm(true, false, out, in, (int) rows, 1, dLogits, 0, out, u, 0, in, 0, dW, 0, in, 1, 0, 0, 0);
    be.gemm(false, false, (int) rows, in, out, 1, dLogits, 0, out, w, 0, in, 0, du, 0, in, 1, 0, 0, 0);
    be.weightNormBackward(v.value, g.value, vNorms, dW, out, in, v.grad, g.grad);
    be.l2NormalizeBackward(u, norms, du, rows, in, EPS, dx);
    arena.profile().add(Profile.Kind.STUDENT_HEAD, true, t0);
  }
}
