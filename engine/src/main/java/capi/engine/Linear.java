package capi.engine;

/** A bias-free linear layer y = x·Wᵀ with W stored PyTorch-style as (out, in). */
final class Linear {
  final Param w;
  final int in;
  final int out;

  Linear(ParamSet ps, String name, int in, int out) {
    this.w = ps.add(name + ".weight", out, in);
    this.in = in;
    this.out = out;
  }

  /** y (rows, out) ← x (rows, in)·Wᵀ. */
  void forward(Backend be, Tensor x, int rows, Tensor y) {
    be.gemm(false, true, rows, out, in, 1, x, 0, in, w.value, 0, in, 0, y, 0, out, 1, 0, 0, 0);
  }

  /** dW += dyᵀ·x; dx (rows, in) ← dy·W, or += when accumulate (dx null: not needed). */
  void backward(Backend be, Tensor x, Tensor dy, int rows, Tensor dx, boolean accumulate) {
    be.gemm(true, false, out, in, rows, 1, dy, 0, out, x, 0, in, 1, w.grad, 0, in, 1, 0, 0, 0);
    if (dx != null) {
      be.gemm(false, false, rows, in, out, 1, dy, 0, out, w.value, 0, in, accumulate ? 1 : 0, dx, 0, in, 1, 0, 0, 0);
    }
  }
}
