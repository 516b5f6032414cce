package capi.engine;

/**
 * A bias-free linear layer y = x·Wᵀ with W stored PyTorch-style as (out, in): a registered weight,
 * or a span of consecutive ones (the fused q/k/v projections). Products read the weight's compute
 * copy; its gradient accumulates in the master dtype.
 */
final class Linear {
  final Param w;
  final int in;
  final int out;

  Linear(ParamSet ps, String name, int in, int out) {
    this(ps.add(name + ".weight", out, in), in, out);
  }

  /** A linear over an existing (out × in) weight, e.g. a span. */
  Linear(Param w, int in, int out) {
    this.w = w;
    this.in = in;
    this.out = out;
  }

  /** y (rows, out) ← x (rows, in)·Wᵀ. */
  void forward(Backend be, Tensor x, long rows, Tensor y) {
    be.gemm(false, true, (int) rows, out, in, 1, x, 0, in, w.compute, 0, in, 0, y, 0, out, 1, 0, 0, 0);
  }

  /** dW += dyᵀ·x; then, when dx is not null, dx (rows, in) ← dy·W, or += when accumulate. */
  void backward(Backend be, Tensor x, Tensor dy, long rows, Tensor dx, boolean accumulate) {
    be.gemm(true, false, out, in, (int) rows, 1, dy, 0, out, x, 0, in, 1, w.grad, 0, in, 1, 0, 0, 0);
    if (dx != null) {
      be.gemm(false, false, (int) rows, in, out, 1, dy, 0, out, w.compute, 0, in, accumulate ? 1 : 0, dx, 0, in, 1, 0, 0, 0);
    }
  }
}
