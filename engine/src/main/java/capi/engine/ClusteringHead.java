package capi.engine;

/**
 * The online-clustering head (reference OnlineClustering.layer): z = A·x/max(‖x‖, 1e-7) + c with
 * A (K, D) unnormalised and a bias c (K). Trained by its own loss and optimiser only. The
 * normalised rows are compute dtype, the logits master.
 */
final class ClusteringHead {
  static final double EPS = 1e-7;
  final Param weight;
  final Param bias;
  final int in;
  final int out;
  private final Arena arena;
  private Tensor u, norms, logits;
  private long rows;

  ClusteringHead(ParamSet ps, int in, int out, Arena arena) {
    this.weight = ps.add("layer.weight", out, in);
    this.bias = ps.add("layer.bias", out);
    this.in = in;
    this.out = out;
    this.arena = arena;
  }

  /** logits (rows, K) of x (rows, D). */
  Tensor forward(Tensor x, long rows) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    this.rows = rows;
    u = arena.get(this, "u", arena.compute(), rows * in);
    norms = arena.get(this, "norms", arena.master(), rows);
    logits = arena.get(this, "logits", arena.master(), rows * out);
    be.l2Normalize(x, rows, in, EPS, u, norms);
    be.gemm(false, true, (int) rows, out, in, 1, u, 0, in, weight.compute, 0, in, 0, logits, 0, out, 1, 0, 0, 0);
    be.addRowVector(logits, rows, out, bias.value);
    arena.profile().add(Profile.Kind.CLUSTERING_HEAD, false, t0);
    return logits;
  }

  /** A and c gradients accumulate from ∂L/∂logits (compute dtype; no gradient flows to the tokens). */
  void backward(Tensor dLogits) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    be.gemm(true, false, out, in, (int) rows, 1, dLogits, 0, out, u, 0, in, 1, weight.grad, 0, in, 1, 0, 0, 0);
    be.sumRows(dLogits, rows, out, bias.grad);
    arena.profile().add(Profile.Kind.CLUSTERING_HEAD, true, t0);
  }
}
