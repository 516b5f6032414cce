package capi.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Backend-independent conformance suite: every primitive, on random inputs of several shapes,
 * against {@link ReferenceBackend} (plain float64 Java). A backend's test extends this class and
 * says how to create it; float64 must agree to about 1e-12, float32 to float32 rounding.
 */
@Timeout(120)
abstract class BackendConformance {
  /** The backend under test in the given precision. */
  protected abstract Backend create(Precision p);

  /** An operation run identically on the candidate and on the reference; returns a scalar or NaN. */
  interface Op {
    double apply(Backend be, Tensor[] t);
  }

  private final Random rng = new Random(17);

  /** Runs op on tensors of the given sizes (same random data on both sides) and compares every tensor. */
  private void agree(String what, double tol64, int[] sizes, Op op) {
    agree(what, tol64, sizes, null, op);
  }

  private void agree(String what, double tol64, int[] sizes, double[][] data, Op op) {
    for (Precision p : Precision.values()) {
      double[][] in = new double[sizes.length][];
      for (int i = 0; i < sizes.length; i++) {
        in[i] = data != null && data[i] != null ? data[i].clone() : gaussian(sizes[i]);
        if (p == Precision.FLOAT32) for (int j = 0; j < in[i].length; j++) in[i][j] = (float) in[i][j];
      }
      Backend ref = new ReferenceBackend();
      try (Backend be = create(p)) {
        Tensor[] a = load(be, in), b = load(ref, in);
        double sa = op.apply(be, a), sb = op.apply(ref, b);
        double tol = p == Precision.FLOAT64 ? tol64 : 3e-5;
        String at = what + " (" + p + ")";
        if (!Double.isNaN(sb)) assertEquals(sb, sa, tol * Math.max(1, Math.abs(sb)), at + " scalar");
        for (int i = 0; i < sizes.length; i++) {
          double[] x = new double[sizes[i]], y = new double[sizes[i]];
          be.download(a[i], 0, x, 0, x.length);
          ref.download(b[i], 0, y, 0, y.length);
          double diff = 0, norm = 0;
          for (int j = 0; j < x.length; j++) {
            assertTrue(Double.isNaN(x[j]) == Double.isNaN(y[j]), at + " tensor " + i + "[" + j + "] NaN mismatch");
            diff += (x[j] - y[j]) * (x[j] - y[j]);
            norm += y[j] * y[j];
          }
          double rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
          assertTrue(rel <= tol, at + " tensor " + i + ": relative error " + rel + " > " + tol);
        }
        for (Tensor t : a) be.free(t);
      }
    }
  }

  private static Tensor[] load(Backend be, double[][] in) {
    Tensor[] t = new Tensor[in.length];
    for (int i = 0; i < in.length; i++) {
      t[i] = be.allocate(in[i].length);
      be.upload(in[i], 0, t[i], 0, in[i].length);
    }
    return t;
  }

  private double[] gaussian(int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) v[i] = rng.nextGaussian();
    return v;
  }

  private double[] distributions(int rows, int cols, boolean withZeros) {
    double[] v = new double[rows * cols];
    for (int r = 0; r < rows; r++) {
      double s = 0;
      for (int c = 0; c < cols; c++) s += v[r * cols + c] = withZeros && c % 3 == 1 ? 0 : rng.nextDouble();
      for (int c = 0; c < cols; c++) v[r * cols + c] /= s;
    }
    return v;
  }

  private int[] indices(int n, int bound) {
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) idx[i] = rng.nextInt(bound);
    return idx;
  }

  private static final int[][] MATRICES = {{1, 1}, {3, 5}, {17, 33}};

  // ---- whole-buffer ---------------------------------------------------------------------------

  @Test
  void elementwiseAndViews() {
    for (int n : new int[] {1, 7, 1000}) {
      agree("fill", 0, new int[] {n}, (be, t) -> {
        be.fill(t[0], 0.25);
        return Double.NaN;
      });
      agree("copy", 0, new int[] {n, n}, (be, t) -> {
        be.copy(t[0], t[1]);
        return Double.NaN;
      });
      agree("axpy", 1e-15, new int[] {n, n}, (be, t) -> {
        be.axpy(-0.7, t[0], t[1]);
        return Double.NaN;
      });
      agree("scale", 1e-15, new int[] {n}, (be, t) -> {
        be.scale(t[0], 3.5);
        return Double.NaN;
      });
      agree("sumSquares", 1e-13, new int[] {n}, (be, t) -> be.sumSquares(t[0]));
      agree("ema", 1e-15, new int[] {n, n}, (be, t) -> {
        be.ema(t[0], t[1], 0.99);
        return Double.NaN;
      });
    }
    agree("views", 0, new int[] {20, 20}, (be, t) -> {
      be.copy(be.view(t[0], 3, 5), be.view(t[1], 11, 5));
      be.scale(be.view(be.view(t[1], 2, 10), 1, 3), 2);
      return Double.NaN;
    });
  }

  @Test
  void floatBufferTransfers() {
    agree("download/upload FloatBuffer", 1e-7, new int[] {9, 9}, (be, t) -> {
      FloatBuffer f = ByteBuffer.allocateDirect(36).order(ByteOrder.nativeOrder()).asFloatBuffer();
      be.download(t[0], f);
      for (int i = 0; i < 9; i++) f.put(i, f.get(i) * 2);
      be.upload(f, t[1]);
      return Double.NaN;
    });
  }

  // ---- matrix products ------------------------------------------------------------------------

  @Test
  void gemmAllTransposesStridesAndBatches() {
    int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {17, 9, 33}};
    for (int[] s : shapes) {
      int m = s[0], n = s[1], k = s[2], batch = 3;
      for (boolean ta : new boolean[] {false, true}) {
        for (boolean tb : new boolean[] {false, true}) {
          for (double beta : new double[] {0, 0.5}) {
            int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
            int sa = (ta ? k : m) * lda + 4, sb = (tb ? n : k) * ldb, sc = m * ldc + 1;
            agree("gemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + " beta=" + beta, 1e-13,
                new int[] {batch * sa + 3, batch * sb + 2, batch * sc + 5}, (be, t) -> {
                  be.gemm(ta, tb, m, n, k, 0.7, t[0], 3, lda, t[1], 2, ldb, beta, t[2], 5, ldc, batch, sa, sb, sc);
                  return Double.NaN;
                });
          }
        }
      }
    }
  }

  // ---- rows -----------------------------------------------------------------------------------

  @Test
  void rowOperations() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      agree("addRowVector", 1e-15, new int[] {rows * cols, cols}, (be, t) -> {
        be.addRowVector(t[0], rows, cols, t[1]);
        return Double.NaN;
      });
      agree("sumRows", 1e-14, new int[] {rows * cols, cols}, (be, t) -> {
        be.sumRows(t[0], rows, cols, t[1]);
        return Double.NaN;
      });
      int[] idx = indices(2 * rows + 1, rows); // repeated rows accumulate in the scatter
      agree("gatherRows", 0, new int[] {rows * cols, idx.length * cols}, (be, t) -> {
        be.gatherRows(t[0], idx, cols, t[1]);
        return Double.NaN;
      });
      agree("scatterAddRows", 1e-14, new int[] {idx.length * cols, rows * cols}, (be, t) -> {
        be.scatterAddRows(t[0], idx, cols, 1.5, t[1]);
        return Double.NaN;
      });
    }
  }

  @Test
  void patchify() {
    int b = 2, c = 3, h = 8, w = 12, p = 4, n = (h / p) * (w / p);
    int[] idx = indices(7, b * n);
    agree("patchify", 0, new int[] {b * c * h * w, idx.length * c * p * p}, (be, t) -> {
      be.patchify(t[0], c, h, w, p, idx, t[1]);
      return Double.NaN;
    });
  }

  // ---- normalisations -------------------------------------------------------------------------

  @Test
  void rmsNormForwardAndBackward() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      for (boolean gain : new boolean[] {true, false}) {
        // x, w, y, rstd, dy, dx, dw
        agree("rmsNorm gain=" + gain, 1e-13, new int[] {rows * cols, cols, rows * cols, rows, rows * cols, rows * cols, cols},
            (be, t) -> {
              be.rmsNorm(t[0], gain ? t[1] : null, rows, cols, 1e-5, t[2], t[3]);
              be.rmsNormBackward(t[0], gain ? t[1] : null, t[3], t[4], rows, cols, t[5], gain ? t[6] : null);
              return Double.NaN;
            });
      }
    }
  }

  @Test
  void l2NormalizeForwardAndBackward() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      double[] x = gaussian(rows * cols);
      for (int c = 0; c < cols; c++) x[c] = 0; // a zero row takes the eps branch
      agree("l2Normalize", 1e-13, new int[] {rows * cols, rows * cols, rows, rows * cols, rows * cols},
          new double[][] {x, null, null, null, null}, (be, t) -> {
            be.l2Normalize(t[0], rows, cols, 1e-7, t[1], t[2]);
            be.l2NormalizeBackward(t[1], t[2], t[3], rows, cols, 1e-7, t[4]);
            return Double.NaN;
          });
    }
  }

  @Test
  void weightNormForwardAndBackward() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      // v, g, w, norms, dw, dv, dg
      agree("weightNorm", 1e-13, new int[] {rows * cols, rows, rows * cols, rows, rows * cols, rows * cols, rows}, (be, t) -> {
        be.weightNorm(t[0], t[1], rows, cols, t[2], t[3]);
        be.weightNormBackward(t[0], t[1], t[3], t[4], rows, cols, t[5], t[6]);
        return Double.NaN;
      });
    }
  }

  // ---- activations and attention --------------------------------------------------------------

  @Test
  void exactGelu() {
    double[] x = new double[161];
    for (int i = 0; i < x.length; i++) x[i] = -8 + 0.1 * i;
    agree("gelu", 1e-9, new int[] {161, 161, 161, 161}, new double[][] {x, null, null, null}, (be, t) -> {
      be.gelu(t[0], t[1]);
      be.geluBackward(t[0], t[2], t[3]);
      return Double.NaN;
    });
  }

  @Test
  void ropeBothDirections() {
    for (int[] s : new int[][] {{1, 1, 4}, {5, 2, 8}, {9, 3, 16}}) {
      int rows = s[0], heads = s[1], d = s[2];
      double[] freqs = Init.ropeFreqs(d);
      for (boolean transpose : new boolean[] {false, true}) {
        // coords, freqs, cos, sin, x
        agree("rope d=" + d + " transpose=" + transpose, 1e-13, new int[] {rows * 2, 2 * d, rows * d, rows * d, rows * heads * d},
            new double[][] {null, freqs, null, null, null}, (be, t) -> {
              be.ropeTables(t[0], t[1], rows, d, t[2], t[3]);
              be.rope(t[4], t[2], t[3], rows, heads, d, transpose);
              return Double.NaN;
            });
      }
    }
  }

  @Test
  void softmaxForwardAndBackward() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      agree("softmaxRows", 1e-13, new int[] {rows * cols, rows * cols}, (be, t) -> {
        be.softmaxRows(t[0], rows, cols);
        be.softmaxRowsBackward(t[0], t[1], rows, cols);
        return Double.NaN;
      });
    }
  }

  // ---- losses ---------------------------------------------------------------------------------

  @Test
  void softTargetCrossEntropyAndEntropy() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      double[] targets = distributions(rows, cols, true);
      agree("softTargetCrossEntropy", 1e-12, new int[] {rows * cols, rows * cols, rows * cols},
          new double[][] {null, targets, null}, (be, t) -> be.softTargetCrossEntropy(t[0], t[1], rows, cols, 0.12, t[2], 0.5));
      agree("softTargetCrossEntropy without gradient", 1e-12, new int[] {rows * cols, rows * cols},
          new double[][] {null, targets}, (be, t) -> be.softTargetCrossEntropy(t[0], t[1], rows, cols, 0.06, null, 1));
      agree("entropyRows", 1e-12, new int[] {rows * cols}, new double[][] {targets}, (be, t) -> be.entropyRows(t[0], rows, cols));
    }
  }

  // ---- Sinkhorn steps -------------------------------------------------------------------------

  @Test
  void sinkhornSteps() {
    for (int[] s : new int[][] {{1, 1, 1}, {3, 4, 5}, {4, 16, 24}}) {
      int p = s[0], n = s[1], k = s[2];
      agree("column max/exp/sum, sinkhorn steps", 1e-13, new int[] {p * n * k, p * k, p * k}, (be, t) -> {
        be.columnMax(t[0], p, n, k, t[1]);
        be.expShifted(t[0], t[1], p, n, k, 5);
        be.columnSum(t[0], p, n, k, t[1]);
        be.sinkhornStep(t[0], t[1], p, n, k, 1e-8, t[2]);
        be.sinkhornStep(t[0], t[2], p, n, k, 1e-8, null);
        return Double.NaN;
      });
    }
  }

  // ---- optimisation ---------------------------------------------------------------------------

  @Test
  void adamwWithSegments() {
    double[] v = new double[30];
    for (int i = 0; i < v.length; i++) v[i] = rng.nextDouble();
    for (long step : new long[] {1, 7}) {
      agree("adamw t=" + step, 1e-13, new int[] {30, 30, 30, 30}, new double[][] {null, null, null, v}, (be, t) -> {
        be.adamw(t[0], t[1], t[2], t[3], new long[] {0, 10, 25, 30}, new double[] {1e-3, 2e-4, 0},
            new double[] {0.1, 0, 0.01}, 0.9, 0.95, 1e-8, step);
        return Double.NaN;
      });
    }
  }
}
