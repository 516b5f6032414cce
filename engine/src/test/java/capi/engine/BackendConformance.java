package capi.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Backend-independent conformance suite: every primitive, on random inputs of several shapes
 * (small ones, and ones large enough for blocked and multi-threaded paths), against {@link
 * ReferenceBackend} with the same tensor dtypes. A backend's test extends this class and says how
 * to create it and which precisions it supports. Tolerances (relative, per tensor): float64 about
 * 1e-12 (per check), float32 3e-5, bf16 2e-2.
 */
@Timeout(300)
public abstract class BackendConformance {
  /** The backend under test in the given precision. */
  protected abstract Backend create(Precision p);

  /** The precisions the backend supports (the cpu: float64 and float32). */
  protected List<Precision> precisions() {
    return List.of(Precision.FLOAT64, Precision.FLOAT32);
  }

  /** An operation run identically on the candidate and on the reference; tensors in the order of the specs. */
  public interface Op {
    void apply(Backend be, Tensor[] t);
  }

  /** What a tensor holds: a role (its dtype follows from the precision) and its initial values. */
  private record Spec(Role role, long length, double[] values, int[] ints, byte[] bytes) {}

  private enum Role { MASTER, COMPUTE, INDEX, PIXELS, SCALARS }

  private final Random rng = new Random(17);

  private Spec f(int n) {
    return new Spec(Role.MASTER, n, gaussian(n), null, null);
  }

  private static Spec f(double[] values) {
    return new Spec(Role.MASTER, values.length, values, null, null);
  }

  private Spec c(int n) {
    return new Spec(Role.COMPUTE, n, gaussian(n), null, null);
  }

  private static Spec ix(int[] values) {
    return new Spec(Role.INDEX, values.length, null, values, null);
  }

  private static Spec scalars() {
    return new Spec(Role.SCALARS, 4, new double[4], null, null);
  }

  private static DType dtype(Role role, Precision p) {
    return switch (role) {
      case MASTER -> p.master();
      case COMPUTE -> p.compute();
      case INDEX -> DType.I32;
      case PIXELS -> DType.U8;
      case SCALARS -> DType.F64;
    };
  }

  private static double tolerance(DType d, double tol64) {
    return switch (d) {
      case F64 -> tol64;
      case F32 -> 3e-5;
      case BF16 -> 2e-2;
      case I32, U8 -> 0;
    };
  }

  /** Runs op on both backends from identical inputs and compares every tensor afterwards. */
  private void agree(String what, double tol64, List<Spec> specs, Op op) {
    for (Precision p : precisions()) {
      Backend ref = new ReferenceBackend(p);
      try (Backend be = create(p)) {
        Tensor[] a = load(be, specs, p), b = load(ref, specs, p);
        op.apply(be, a);
        op.apply(ref, b);
        for (int i = 0; i < specs.size(); i++) {
          DType d = dtype(specs.get(i).role(), p);
          // scalars are float64 sums of the precision's numbers
          double tol = tolerance(specs.get(i).role() == Role.SCALARS ? p.master() : d, tol64);
          compare(what + " (" + p.configName() + ") tensor " + i, be, a[i], ref, b[i], tol);
        }
        for (Tensor t : a) be.free(t);
      }
    }
  }

  private static Tensor[] load(Backend be, List<Spec> specs, Precision p) {
    Tensor[] t = new Tensor[specs.size()];
    for (int i = 0; i < t.length; i++) {
      Spec s = specs.get(i);
      t[i] = be.allocate(dtype(s.role(), p), s.length());
      if (s.values() != null) be.upload(s.values(), 0, t[i], 0, s.values().length);
      if (s.ints() != null) be.upload(s.ints(), 0, t[i], 0, s.ints().length);
      if (s.bytes() != null) be.upload(s.bytes(), 0, t[i], 0, s.bytes().length);
    }
    return t;
  }

  private static void compare(String at, Backend be, Tensor x, Backend ref, Tensor y, double tol) {
    int n = (int) x.length();
    double[] u = new double[n], v = new double[n];
    be.download(x, 0, u, 0, n);
    ref.download(y, 0, v, 0, n);
    if (tol == 0) {
      assertArrayEquals(v, u, at);
      return;
    }
    double diff = 0, norm = 0;
    for (int j = 0; j < n; j++) {
      assertTrue(Double.isNaN(u[j]) == Double.isNaN(v[j]), at + "[" + j + "] NaN mismatch");
      if (Double.isNaN(v[j])) continue;
      diff += (u[j] - v[j]) * (u[j] - v[j]);
      norm += v[j] * v[j];
    }
    double rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
    assertTrue(rel <= tol, at + ": relative error " + rel + " > " + tol);
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

  private static final int[][] MATRICES = {{1, 1}, {3, 5}, {17, 33}, {70, 300}};

  // ---- memory, transfers, whole buffers -------------------------------------------------------

  @Test
  void elementwiseAndViews() {
    for (int n : new int[] {1, 7, 1000, 40_000}) {
      agree("fill", 0, List.of(f(n)), (be, t) -> be.fill(t[0], 0.25));
      agree("copy", 0, List.of(f(n), f(n)), (be, t) -> be.copy(t[0], t[1]));
      agree("copy into the compute dtype", 0, List.of(f(n), c(n)), (be, t) -> be.copy(t[0], t[1]));
      agree("axpy", 1e-15, List.of(f(n), f(n)), (be, t) -> be.axpy(-0.7, t[0], t[1]));
      agree("scale", 1e-15, List.of(f(n)), (be, t) -> be.scale(t[0], 3.5));
      agree("sumSquares", 1e-13, List.of(f(n), scalars()), (be, t) -> be.sumSquares(t[0], t[1], 2));
    }
    agree("views", 0, List.of(f(20), f(20)), (be, t) -> {
      be.copy(be.view(t[0], 3, 5), be.view(t[1], 11, 5));
      be.scale(be.view(be.view(t[1], 2, 10), 1, 3), 2);
    });
  }

  @Test
  void transfers() {
    agree("stage/unstage", 1e-7, List.of(f(9), f(9)), (be, t) -> {
      ByteBuffer b = be.hostBuffer(36);
      be.stage(t[0], b);
      for (int i = 0; i < 9; i++) b.putFloat(4 * i, b.getFloat(4 * i) * 2);
      be.unstage(b, t[1]);
    });
    for (Precision p : precisions()) {
      try (Backend be = create(p)) {
        Tensor ints = be.allocate(DType.I32, 5), bytes = be.allocate(DType.U8, 4);
        be.upload(new int[] {9, -3, 7, 1 << 30, 0}, 0, ints, 0, 5);
        int[] back = new int[3];
        be.download(ints, 1, back, 0, 3);
        assertArrayEquals(new int[] {-3, 7, 1 << 30}, back);
        be.upload(new byte[] {0, 1, (byte) 200, (byte) 255}, 0, bytes, 0, 4);
        double[] d = new double[4];
        be.download(bytes, 0, d, 0, 4);
        assertArrayEquals(new double[] {0, 1, 200, 255}, d, "U8 reads unsigned");
        Tensor x = be.allocate(p.master(), 3);
        be.upload(new float[] {1.5f, -2, 3}, 0, x, 0, 3);
        float[] f = new float[3];
        be.download(x, 0, f, 0, 3);
        assertArrayEquals(new float[] {1.5f, -2, 3}, f);
        assertEquals(p.master().bytes() * 3L + 4 * 5 + 4, be.allocatedBytes(), "allocated bytes");
      }
    }
  }

  // ---- matrix products ------------------------------------------------------------------------

  @Test
  void gemmAllTransposesStridesAndBatches() {
    int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {17, 9, 33}, {13, 50, 300}};
    for (int[] s : shapes) {
      int m = s[0], n = s[1], k = s[2], batch = 3;
      for (boolean ta : new boolean[] {false, true}) {
        for (boolean tb : new boolean[] {false, true}) {
          for (double beta : new double[] {0, 0.5}) {
            int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
            int sa = (ta ? k : m) * lda + 4, sb = (tb ? n : k) * ldb, sc = m * ldc + 1;
            agree("gemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + " beta=" + beta, 1e-13,
                List.of(c(batch * sa + 3), c(batch * sb + 2), f(batch * sc + 5)), (be, t) ->
                    be.gemm(ta, tb, m, n, k, 0.7, t[0], 3, lda, t[1], 2, ldb, beta, t[2], 5, ldc, batch, sa, sb, sc));
          }
        }
      }
    }
  }

  /** Products large enough to be blocked and split over threads (rows, or columns when rows are few). */
  @Test
  void gemmLargeSplits() {
    for (int[] s : new int[][] {{130, 70, 260}, {10, 200, 300}, {257, 129, 65}}) {
      int m = s[0], n = s[1], k = s[2];
      for (boolean ta : new boolean[] {false, true}) {
        for (boolean tb : new boolean[] {false, true}) {
          agree("gemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb, 1e-13, List.of(c(m * k), c(k * n), f(m * n)),
              (be, t) -> be.gemm(ta, tb, m, n, k, 1, t[0], 0, ta ? m : k, t[1], 0, tb ? k : n, 1, t[2], 0, n, 1, 0, 0, 0));
        }
      }
    }
  }

  // ---- rows -----------------------------------------------------------------------------------

  @Test
  void rowOperations() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      agree("addRowVector", 1e-15, List.of(f(rows * cols), f(cols)), (be, t) -> be.addRowVector(t[0], rows, cols, t[1]));
      agree("sumRows", 1e-14, List.of(f(rows * cols), f(cols)), (be, t) -> be.sumRows(t[0], rows, cols, t[1]));
      int[] idx = indices(2 * rows + 1, rows); // repeated rows accumulate in the scatter
      agree("gatherRows", 0, List.of(f(rows * cols), ix(idx), f(idx.length * cols)),
          (be, t) -> be.gatherRows(t[0], t[1], cols, t[2]));
      agree("scatterAddRows", 1e-14, List.of(f(idx.length * cols), ix(idx), f(rows * cols)),
          (be, t) -> be.scatterAddRows(t[0], t[1], cols, 1.5, t[2]));
    }
  }

  @Test
  void patchifyNormalizeAndCoordinates() {
    int b = 2, c = 3, h = 8, w = 12, p = 4, n = (h / p) * (w / p);
    int[] idx = indices(7, b * n);
    agree("patchify", 0, List.of(c(b * c * h * w), ix(idx), c(idx.length * c * p * p)),
        (be, t) -> be.patchify(t[0], c, h, w, p, t[1], t[2]));
    byte[] pixels = new byte[b * c * h * w];
    rng.nextBytes(pixels);
    agree("normalizeImages", 1e-15, List.of(new Spec(Role.PIXELS, pixels.length, null, null, pixels), c(pixels.length)),
        (be, t) -> be.normalizeImages(t[0], c, (long) h * w, new double[] {0.5, 0.4, 0.3}, new double[] {0.2, 0.25, 0.3}, t[1]));
    // 3 samples of 4 patches of a 3×4 grid, 8 registers; and a 1-wide grid without registers
    int[] visible = {0, 5, 6, 11, 12, 14, 15, 16, 24, 25, 30, 35};
    agree("tokenCoordinates", 1e-15, List.of(ix(visible), f(3 * (8 + 4) * 2)),
        (be, t) -> be.tokenCoordinates(t[0], 3, 8, 3, 4, t[1]));
    agree("tokenCoordinates without registers", 1e-15, List.of(ix(new int[] {0, 2, 4, 5}), f(4 * 2)),
        (be, t) -> be.tokenCoordinates(t[0], 2, 0, 3, 1, t[1]));
  }

  // ---- normalisations -------------------------------------------------------------------------

  @Test
  void rmsNormForwardAndBackward() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      for (boolean gain : new boolean[] {true, false}) {
        // x, w, y, rstd, dy, dx, dw
        agree("rmsNorm gain=" + gain, 1e-13,
            List.of(f(rows * cols), f(cols), c(rows * cols), f(rows), f(rows * cols), f(rows * cols), f(cols)), (be, t) -> {
              be.rmsNorm(t[0], gain ? t[1] : null, rows, cols, 1e-5, t[2], t[3]);
              be.rmsNormBackward(t[0], gain ? t[1] : null, t[3], t[4], rows, cols, t[5], gain ? t[6] : null);
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
      agree("l2Normalize", 1e-13, List.of(f(x), f(rows * cols), f(rows), f(rows * cols), f(rows * cols)), (be, t) -> {
        be.l2Normalize(t[0], rows, cols, 1e-7, t[1], t[2]);
        be.l2NormalizeBackward(t[1], t[2], t[3], rows, cols, 1e-7, t[4]);
      });
    }
  }

  @Test
  void weightNormForwardAndBackward() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      // v, g, w, norms, dw, dv, dg
      agree("weightNorm", 1e-13, List.of(f(rows * cols), f(rows), c(rows * cols), f(rows), f(rows * cols),
          f(rows * cols), f(rows)), (be, t) -> {
            be.weightNorm(t[0], t[1], rows, cols, t[2], t[3]);
            be.weightNormBackward(t[0], t[1], t[3], t[4], rows, cols, t[5], t[6]);
          });
    }
  }

  // ---- activations and RoPE -------------------------------------------------------------------

  @Test
  void exactGelu() {
    for (int n : new int[] {161, 40_000}) {
      double[] x = new double[n];
      for (int i = 0; i < n; i++) x[i] = -8 + 16.0 * i / n;
      agree("gelu", 1e-9, List.of(f(x), c(n), f(n), c(n)), (be, t) -> {
        be.gelu(t[0], t[1]);
        be.geluBackward(t[0], t[2], t[3]);
      });
    }
  }

  @Test
  void ropeBothDirections() {
    for (int[] s : new int[][] {{1, 1, 4}, {5, 2, 8}, {9, 3, 16}, {40, 2, 64}}) {
      int rows = s[0], heads = s[1], d = s[2], ld = heads * d * 3, period = rows > 4 ? rows / 4 : rows;
      double[] freqs = Init.ropeFreqs(d);
      for (boolean transpose : new boolean[] {false, true}) {
        // coords, freqs, cos, sin, x (rows with stride ld: a fused q/k/v buffer)
        agree("rope d=" + d + " transpose=" + transpose, 1e-13,
            List.of(f(period * 2), f(freqs), f(period * d), f(period * d), c(rows * ld)), (be, t) -> {
              be.ropeTables(t[0], t[1], period, d, t[2], t[3]);
              be.rope(be.view(t[4], heads * d, rows * ld - heads * d), ld, rows, heads, d, t[2], t[3], period, transpose);
            });
      }
    }
  }

  // ---- attention ------------------------------------------------------------------------------

  @Test
  void attentionForwardAndBackward() {
    // batch, heads, nq, nk, headDim; self-attention reads a fused q/k/v buffer, cross-attention q and a fused k/v
    for (int[] s : new int[][] {{1, 1, 1, 1, 4}, {2, 3, 5, 5, 4}, {3, 2, 4, 7, 16}, {4, 2, 20, 20, 64}, {2, 1, 3, 11, 20}}) {
      int b = s[0], h = s[1], nq = s[2], nk = s[3], d = s[4], w = h * d;
      boolean self = nq == nk;
      int ldq = self ? 3 * w : w, ldkv = self ? 3 * w : 2 * w;
      AttentionShape shape = new AttentionShape(b, h, nq, nk, d, ldq, ldkv, 1 / Math.sqrt(d));
      int qLen = b * nq * ldq, kvLen = b * nk * ldkv;
      // q buffer, kv buffer (self: unused), out, dOut, dq buffer, dkv buffer
      agree("attention " + java.util.Arrays.toString(s), 1e-12,
          List.of(c(qLen), c(kvLen), c(b * nq * w), c(b * nq * w), c(qLen), c(kvLen)), (be, t) -> {
            Tensor qb = t[0], kvb = self ? t[0] : t[1], dqb = t[4], dkvb = self ? t[4] : t[5];
            int k0 = self ? w : 0, v0 = self ? 2 * w : w;
            Tensor q = be.view(qb, 0, qLen), k = be.view(kvb, k0, kvLen - k0), v = be.view(kvb, v0, kvLen - v0);
            Tensor stash = be.allocate(be.precision().master(), be.attentionStashLength(b, h, nq, nk));
            be.attention(shape, q, k, v, t[2], stash);
            be.attentionBackward(shape, q, k, v, t[2], stash, t[3], be.view(dqb, 0, qLen), be.view(dkvb, k0, kvLen - k0),
                be.view(dkvb, v0, kvLen - v0));
          });
    }
  }

  // ---- losses ---------------------------------------------------------------------------------

  @Test
  void softTargetCrossEntropyAndEntropy() {
    for (int[] s : MATRICES) {
      int rows = s[0], cols = s[1];
      double[] targets = distributions(rows, cols, true);
      agree("softTargetCrossEntropy", 1e-12, List.of(f(rows * cols), f(targets), c(rows * cols), scalars()),
          (be, t) -> be.softTargetCrossEntropy(t[0], t[1], rows, cols, 0.12, t[2], 0.5, t[3], 1));
      agree("softTargetCrossEntropy without gradient", 1e-12, List.of(f(rows * cols), f(targets), scalars()),
          (be, t) -> be.softTargetCrossEntropy(t[0], t[1], rows, cols, 0.06, null, 1, t[2], 0));
      agree("entropyRows", 1e-12, List.of(f(targets), scalars()), (be, t) -> be.entropyRows(t[0], rows, cols, t[1], 3));
    }
  }

  // ---- Sinkhorn steps -------------------------------------------------------------------------

  @Test
  void sinkhornSteps() {
    for (int[] s : new int[][] {{1, 1, 1}, {3, 4, 5}, {4, 16, 24}, {1, 30, 600}, {16, 8, 300}}) {
      int p = s[0], n = s[1], k = s[2];
      // logits, shift, assignments, colsum, next colsum
      agree("column max/exp/sum, sinkhorn steps " + java.util.Arrays.toString(s), 1e-13,
          List.of(f(p * n * k), f(p * k), f(p * n * k), f(p * k), f(p * k)), (be, t) -> {
            be.columnMax(t[0], p, n, k, t[1]);
            be.expShifted(t[0], t[1], p, n, k, 1 / 0.7, 5, t[2], t[3]);
            be.sinkhornStep(t[2], t[3], p, n, k, 1e-8, t[4]);
            be.sinkhornStep(t[2], t[4], p, n, k, 1e-8, null);
          });
    }
  }

  // ---- optimisation ---------------------------------------------------------------------------

  @Test
  void adamwWithSegmentsAndTheTeachersEma() {
    for (int n : new int[] {30, 50_000}) {
      double[] v = new double[n];
      for (int i = 0; i < n; i++) v[i] = rng.nextDouble();
      long[] segments = {2, n / 3, n / 2, n - 1}; // elements 0, 1 and n − 1 stay untouched
      for (long step : new long[] {1, 7}) {
        // p, g, m, v, teacher (shorter than p)
        agree("adamw+ema n=" + n + " t=" + step, 1e-13, List.of(f(n), f(n), f(n), f(v), f(n - n / 4)), (be, t) ->
            be.adamw(t[0], t[1], t[2], t[3], segments, new double[] {1e-3, 2e-4, 0}, new double[] {0.1, 0, 0.01}, 0.9, 0.95,
                1e-8, step, t[4], 0.99));
      }
      agree("adamw without a teacher", 1e-13, List.of(f(n), f(n), f(n), f(v)), (be, t) ->
          be.adamw(t[0], t[1], t[2], t[3], new long[] {0, n}, new double[] {1e-3}, new double[] {0.1}, 0.9, 0.95, 1e-8, 3,
              null, 0));
    }
  }

  /** A frozen parameter (lr 0) equal in student and teacher stays exactly equal through the EMA. */
  @Test
  void emaKeepsEqualValuesEqual() {
    for (Precision p : precisions()) {
      try (Backend be = create(p)) {
        double[] values = gaussian(1000);
        Tensor param = be.allocate(p.master(), 1000), teacher = be.allocate(p.master(), 1000);
        Tensor g = be.allocate(p.master(), 1000), m = be.allocate(p.master(), 1000), v = be.allocate(p.master(), 1000);
        be.upload(values, 0, param, 0, 1000);
        be.upload(values, 0, teacher, 0, 1000);
        be.upload(gaussian(1000), 0, g, 0, 1000);
        for (int s = 1; s <= 50; s++) {
          be.adamw(param, g, m, v, new long[] {0, 1000}, new double[] {0}, new double[] {0.1}, 0.9, 0.95, 1e-8, s, teacher, 0.996);
        }
        double[] a = new double[1000], b = new double[1000];
        be.download(param, 0, a, 0, 1000);
        be.download(teacher, 0, b, 0, 1000);
        assertArrayEquals(a, b, p + ": student and teacher");
        List<Double> changed = new ArrayList<>();
        for (int i = 0; i < 1000; i++) if (a[i] != (p == Precision.FLOAT64 ? values[i] : (float) values[i])) changed.add(a[i]);
        assertTrue(changed.isEmpty(), p + ": lr 0 keeps the values, changed " + changed.size());
      }
    }
  }
}
