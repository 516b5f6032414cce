package capi.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The executable definition of every {@link Backend} primitive: float64 arithmetic, heap arrays,
 * the most direct loops (naive matrix products, no fusion). A tensor stores doubles rounded to its
 * dtype on every write (F32: to float, BF16: to bfloat16, integers exact), so in bf16-mixed it
 * emulates what a bf16 device stores. Backends are checked against it ({@link BackendConformance}).
 */
public final class ReferenceBackend implements Backend {
  private final Precision precision;

  static final class Ref implements Tensor {
    final double[] a;
    final int off;
    final int len;
    final DType dtype;

    Ref(double[] a, int off, int len, DType dtype) {
      this.a = a;
      this.off = off;
      this.len = len;
      this.dtype = dtype;
    }

    @Override
    public long length() {
      return len;
    }

    @Override
    public DType dtype() {
      return dtype;
    }

    double get(long i) {
      if (i < 0 || i >= len) throw new IndexOutOfBoundsException(i + " of " + len);
      return a[off + (int) i];
    }

    void set(long i, double v) {
      if (i < 0 || i >= len) throw new IndexOutOfBoundsException(i + " of " + len);
      a[off + (int) i] = round(dtype, v);
    }

    int index(long i) {
      if (dtype != DType.I32) throw new IllegalArgumentException("index tensor of dtype " + dtype);
      return (int) get(i);
    }
  }

  /** v as the dtype stores it. */
  static double round(DType dtype, double v) {
    return switch (dtype) {
      case F64 -> v;
      case F32 -> (float) v;
      case BF16 -> DType.roundToBf16((float) v);
      case I32 -> {
        if (v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE) throw new IllegalArgumentException("I32 value " + v);
        yield v;
      }
      case U8 -> {
        if (v != Math.rint(v) || v < 0 || v > 255) throw new IllegalArgumentException("U8 value " + v);
        yield v;
      }
    };
  }

  public ReferenceBackend() {
    this(Precision.FLOAT64);
  }

  /** The reference with the tensor dtypes of another precision (values still computed in float64). */
  public ReferenceBackend(Precision precision) {
    this.precision = precision;
  }

  private static Ref r(Tensor t) {
    return (Ref) t;
  }

  private static void floats(Tensor... ts) {
    for (Tensor t : ts) {
      if (t != null && !t.dtype().isFloat()) throw new IllegalArgumentException("float tensor expected, got " + t.dtype());
    }
  }

  @Override
  public String name() {
    return "reference";
  }

  @Override
  public Precision precision() {
    return precision;
  }

  @Override
  public String describe() {
    return "reference backend (float64 Java loops)";
  }

  @Override
  public Tensor allocate(DType dtype, long length) {
    if (length > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor too large: " + length);
    return new Ref(new double[(int) length], 0, (int) length, dtype);
  }

  @Override
  public Tensor view(Tensor t, long offset, long length) {
    if (offset < 0 || offset + length > t.length()) {
      throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + length) + ") of " + t.length());
    }
    return new Ref(r(t).a, r(t).off + (int) offset, (int) length, t.dtype());
  }

  @Override
  public void free(Tensor t) {}

  @Override
  public long allocatedBytes() {
    return 0; // heap arrays, left to the GC
  }

  @Override
  public ByteBuffer hostBuffer(long bytes) {
    return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
  }

  @Override
  public void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    floats(dst);
    for (int i = 0; i < n; i++) r(dst).set(dstOffset + i, src[srcOffset + i]);
  }

  @Override
  public void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    floats(dst);
    for (int i = 0; i < n; i++) r(dst).set(dstOffset + i, src[srcOffset + i]);
  }

  @Override
  public void upload(int[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    if (dst.dtype() != DType.I32) throw new IllegalArgumentException("int[] into " + dst.dtype());
    for (int i = 0; i < n; i++) r(dst).set(dstOffset + i, src[srcOffset + i]);
  }

  @Override
  public void upload(byte[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    if (dst.dtype() != DType.U8) throw new IllegalArgumentException("byte[] into " + dst.dtype());
    for (int i = 0; i < n; i++) r(dst).set(dstOffset + i, src[srcOffset + i] & 0xFF);
  }

  @Override
  public void download(Tensor src, long srcOffset, double[] dst, int dstOffset, int n) {
    for (int i = 0; i < n; i++) dst[dstOffset + i] = r(src).get(srcOffset + i);
  }

  @Override
  public void download(Tensor src, long srcOffset, float[] dst, int dstOffset, int n) {
    for (int i = 0; i < n; i++) dst[dstOffset + i] = (float) r(src).get(srcOffset + i);
  }

  @Override
  public void download(Tensor src, long srcOffset, int[] dst, int dstOffset, int n) {
    for (int i = 0; i < n; i++) dst[dstOffset + i] = r(src).index(srcOffset + i);
  }

  @Override
  public void stage(Tensor src, ByteBuffer dst) {
    for (int i = 0; i < src.length(); i++) dst.putFloat(4 * i, (float) r(src).get(i));
  }

  @Override
  public void unstage(ByteBuffer src, Tensor dst) {
    for (int i = 0; i < dst.length(); i++) r(dst).set(i, src.getFloat(4 * i));
  }

  @Override
  public void fill(Tensor t, double value) {
    for (int i = 0; i < t.length(); i++) r(t).set(i, value);
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    if (src.length() != dst.length()) throw new IllegalArgumentException("copy of " + src.length() + " into " + dst.length());
    for (int i = 0; i < src.length(); i++) r(dst).set(i, r(src).get(i));
  }

  @Override
  public void axpy(double a, Tensor x, Tensor y) {
    for (int i = 0; i < x.length(); i++) r(y).set(i, r(y).get(i) + a * r(x).get(i));
  }

  @Override
  public void scale(Tensor x, double a) {
    for (int i = 0; i < x.length(); i++) r(x).set(i, a * r(x).get(i));
  }

  @Override
  public void sumSquares(Tensor x, Tensor scalars, int slot) {
    double s = 0;
    for (int i = 0; i < x.length(); i++) s += r(x).get(i) * r(x).get(i);
    r(scalars).set(slot, s);
  }

  @Override
  public long checksum(Tensor x) {
    throw new UnsupportedOperationException("bit patterns are backend-specific");
  }

  @Override
  public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Tensor a, long aOffset, int lda,
      Tensor b, long bOffset, int ldb, double beta, Tensor c, long cOffset, int ldc, int batch, long strideA,
      long strideB, long strideC) {
    if (a.dtype() != b.dtype() || !a.dtype().isFloat()) {
      throw new IllegalArgumentException("gemm of " + a.dtype() + " and " + b.dtype());
    }
    if (c.dtype() != a.dtype() && !(a.dtype() == DType.BF16 && c.dtype() == DType.F32)) {
      throw new IllegalArgumentException("gemm of " + a.dtype() + " into " + c.dtype());
    }
    for (int q = 0; q < batch; q++) {
      long ao = aOffset + q * strideA, bo = bOffset + q * strideB, co = cOffset + q * strideC;
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          double s = 0;
          for (int l = 0; l < k; l++) {
            double av = transA ? r(a).get(ao + (long) l * lda + i) : r(a).get(ao + (long) i * lda + l);
            double bv = transB ? r(b).get(bo + (long) j * ldb + l) : r(b).get(bo + (long) l * ldb + j);
            s += av * bv;
          }
          long ci = co + (long) i * ldc + j;
          r(c).set(ci, alpha * s + (beta == 0 ? 0 : beta * r(c).get(ci)));
        }
      }
    }
  }

  @Override
  public void addRowVector(Tensor x, long rows, int cols, Tensor v) {
    for (long i = 0; i < rows * cols; i++) r(x).set(i, r(x).get(i) + r(v).get(i % cols));
  }

  @Override
  public void sumRows(Tensor x, long rows, int cols, Tensor out) {
    for (int c = 0; c < cols; c++) {
      double s = 0;
      for (long i = 0; i < rows; i++) s += r(x).get(i * cols + c);
      r(out).set(c, r(out).get(c) + s);
    }
  }

  @Override
  public void gatherRows(Tensor src, Tensor index, int cols, Tensor dst) {
    for (long i = 0; i < index.length(); i++) {
      long from = (long) r(index).index(i) * cols;
      for (int c = 0; c < cols; c++) r(dst).set(i * cols + c, r(src).get(from + c));
    }
  }

  @Override
  public void scatterAddRows(Tensor src, Tensor index, int cols, double alpha, Tensor dst) {
    for (long i = 0; i < index.length(); i++) {
      long to = (long) r(index).index(i) * cols;
      for (int c = 0; c < cols; c++) r(dst).set(to + c, r(dst).get(to + c) + alpha * r(src).get(i * cols + c));
    }
  }

  @Override
  public void patchify(Tensor images, int channels, int height, int width, int patch, Tensor index, Tensor dst) {
    int gw = width / patch, n = (height / patch) * gw;
    long col = 0;
    for (long i = 0; i < index.length(); i++) {
      int at = r(index).index(i);
      int img = at / n, row = (at % n) / gw, cl = (at % n) % gw;
      for (int c = 0; c < channels; c++) {
        for (int y = 0; y < patch; y++) {
          for (int x = 0; x < patch; x++) {
            long src = (((long) img * channels + c) * height + row * patch + y) * width + cl * patch + x;
            r(dst).set(col++, r(images).get(src));
          }
        }
      }
    }
  }

  @Override
  public void normalizeImages(Tensor pixels, int channels, long plane, double[] mean, double[] std, Tensor dst) {
    if (pixels.dtype() != DType.U8) throw new IllegalArgumentException("pixels of dtype " + pixels.dtype());
    for (long i = 0; i < pixels.length(); i++) {
      int c = (int) ((i / plane) % channels);
      r(dst).set(i, (r(pixels).get(i) / 255 - mean[c]) / std[c]);
    }
  }

  @Override
  public void tokenCoordinates(Tensor patchIndex, int batch, int registers, int gridH, int gridW, Tensor coords) {
    int t = (int) (patchIndex.length() / batch), stride = registers + t, side = registers / 4, n = gridH * gridW;
    for (int b = 0; b < batch; b++) {
      double minY = Double.POSITIVE_INFINITY, minX = Double.POSITIVE_INFINITY;
      double maxY = Double.NEGATIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < t; i++) {
        int p = r(patchIndex).index((long) b * t + i) % n;
        double y = linspace(p / gridW, gridH), x = linspace(p % gridW, gridW);
        long o = 2L * ((long) b * stride + registers + i);
        r(coords).set(o, y);
        r(coords).set(o + 1, x);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
      }
      for (int i = 0; i < registers; i++) {
        int s = i / side;
        double c = (double) (i % side) / side;
        double ey = s == 0 ? c : s == 1 ? 1 : s == 2 ? 1 - c : 0;
        double ex = s == 0 ? 0 : s == 1 ? c : s == 2 ? 1 : 1 - c;
        long o = 2L * ((long) b * stride + i);
        r(coords).set(o, minY + ey * (maxY - minY));
        r(coords).set(o + 1, minX + ex * (maxX - minX));
      }
    }
  }

  private static double linspace(int i, int m) {
    return m == 1 ? 0 : (double) i / (m - 1);
  }

  @Override
  public void rmsNorm(Tensor x, Tensor w, long rows, int cols, double eps, Tensor y, Tensor rstd) {
    floats(x, w, y, rstd);
    for (long i = 0; i < rows; i++) {
      double ms = 0;
      for (int c = 0; c < cols; c++) ms += sq(r(x).get(i * cols + c)) / cols;
      double s = 1 / Math.sqrt(ms + eps);
      r(rstd).set(i, s);
      for (int c = 0; c < cols; c++) {
        r(y).set(i * cols + c, r(x).get(i * cols + c) * s * (w == null ? 1 : r(w).get(c)));
      }
    }
  }

  @Override
  public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, long rows, int cols, Tensor dx, Tensor dw) {
    // y_c = x_c·s·w_c with s = (Σx²/D + eps)^(−1/2): ∂s/∂x_j = −s³·x_j/D
    for (long i = 0; i < rows; i++) {
      double s = r(rstd).get(i);
      double t = 0;
      for (int c = 0; c < cols; c++) t += r(dy).get(i * cols + c) * (w == null ? 1 : r(w).get(c)) * r(x).get(i * cols + c);
      for (int j = 0; j < cols; j++) {
        long o = i * cols + j;
        double g = r(dy).get(o) * (w == null ? 1 : r(w).get(j)) * s - t * s * s * s * r(x).get(o) / cols;
        r(dx).set(o, r(dx).get(o) + g);
        if (dw != null) r(dw).set(j, r(dw).get(j) + r(dy).get(o) * r(x).get(o) * s);
      }
    }
  }

  @Override
  public void l2Normalize(Tensor x, long rows, int cols, double eps, Tensor y, Tensor norm) {
    for (long i = 0; i < rows; i++) {
      double s = 0;
      for (int c = 0; c < cols; c++) s += sq(r(x).get(i * cols + c));
      double n = Math.sqrt(s);
      r(norm).set(i, n);
      for (int c = 0; c < cols; c++) r(y).set(i * cols + c, r(x).get(i * cols + c) / Math.max(n, eps));
    }
  }

  @Override
  public void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, long rows, int cols, double eps, Tensor dx) {
    for (long i = 0; i < rows; i++) {
      double n = r(norm).get(i);
      double t = 0;
      for (int c = 0; c < cols; c++) t += r(y).get(i * cols + c) * r(dy).get(i * cols + c);
      for (int c = 0; c < cols; c++) {
        long o = i * cols + c;
        r(dx).set(o, n > eps ? (r(dy).get(o) - r(y).get(o) * t) / n : r(dy).get(o) / eps);
      }
    }
  }

  @Override
  public void weightNorm(Tensor v, Tensor g, long rows, int cols, Tensor w, Tensor norms) {
    for (long i = 0; i < rows; i++) {
      double s = 0;
      for (int c = 0; c < cols; c++) s += sq(r(v).get(i * cols + c));
      double n = Math.sqrt(s);
      r(norms).set(i, n);
      for (int c = 0; c < cols; c++) r(w).set(i * cols + c, r(g).get(i) * r(v).get(i * cols + c) / (n + 1e-8));
    }
  }

  @Override
  public void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, long rows, int cols, Tensor dv, Tensor dg) {
    // w_c = g·v_c/(n + 1e-8), n = ‖v‖: ∂w_c/∂v_j = g·δ_cj/(n+ε) − g·v_c·v_j/((n+ε)²·n)
    for (long i = 0; i < rows; i++) {
      double n = r(norms).get(i), gi = r(g).get(i), den = n + 1e-8;
      double t = 0;
      for (int c = 0; c < cols; c++) t += r(dw).get(i * cols + c) * r(v).get(i * cols + c);
      r(dg).set(i, r(dg).get(i) + t / den);
      for (int j = 0; j < cols; j++) {
        long o = i * cols + j;
        r(dv).set(o, r(dv).get(o) + gi * r(dw).get(o) / den - (n > 0 ? gi * t * r(v).get(o) / (den * den * n) : 0));
      }
    }
  }

  @Override
  public void gelu(Tensor x, Tensor y) {
    for (int i = 0; i < x.length(); i++) {
      double v = r(x).get(i);
      r(y).set(i, v * phiCdf(v));
    }
  }

  @Override
  public void geluBackward(Tensor x, Tensor dy, Tensor dx) {
    for (int i = 0; i < x.length(); i++) {
      double v = r(x).get(i);
      r(dx).set(i, r(dy).get(i) * (phiCdf(v) + v * Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI)));
    }
  }

  /** Φ(x) by Simpson integration of the normal density over the smaller tail (no erf involved). */
  private static double phiCdf(double x) {
    double a = Math.abs(x), h = 10.0 / 4000, tail = 0;
    for (int i = 0; i <= 4000; i++) {
      double t = a + i * h, w = i == 0 || i == 4000 ? 1 : (i % 2 == 1 ? 4 : 2);
      tail += w * Math.exp(-t * t / 2);
    }
    tail *= h / 3 / Math.sqrt(2 * Math.PI); // ∫_a^(a+10) φ; beyond is below 1e-22 of it
    return x >= 0 ? 1 - tail : tail;
  }

  @Override
  public void ropeTables(Tensor coords, Tensor freqs, long rows, int headDim, Tensor cos, Tensor sin) {
    for (long i = 0; i < rows; i++) {
      for (int c = 0; c < headDim; c++) {
        double a = r(coords).get(2 * i) * r(freqs).get(c) + r(coords).get(2 * i + 1) * r(freqs).get(headDim + c);
        r(cos).set(i * headDim + c, Math.cos(a));
        r(sin).set(i * headDim + c, Math.sin(a));
      }
    }
  }

  @Override
  public void rope(Tensor x, int ld, long rows, int heads, int headDim, Tensor cos, Tensor sin, long tableRows,
      boolean transpose) {
    // out = M·x per head with M = diag(cos) + diag(sin)·R, R·x = rotate_half(x); transpose: Mᵀ·x
    int half = headDim / 2;
    double[] in = new double[headDim];
    for (long i = 0; i < rows; i++) {
      long t = i % tableRows;
      for (int h = 0; h < heads; h++) {
        long o = i * ld + (long) h * headDim;
        for (int c = 0; c < headDim; c++) in[c] = r(x).get(o + c);
        for (int c = 0; c < headDim; c++) {
          double s = 0;
          for (int j = 0; j < headDim; j++) {
            s += (transpose ? m(cos, sin, t, headDim, half, j, c) : m(cos, sin, t, headDim, half, c, j)) * in[j];
          }
          r(x).set(o + c, s);
        }
      }
    }
  }

  /** Entry (c, j) of the RoPE matrix of table row t. */
  private static double m(Tensor cos, Tensor sin, long t, int d, int half, int c, int j) {
    double v = c == j ? r(cos).get(t * d + c) : 0;
    if (c < half && j == c + half) v -= r(sin).get(t * d + c); // rotate_half: −x2 in the first half
    if (c >= half && j == c - half) v += r(sin).get(t * d + c); // x1 in the second half
    return v;
  }

  @Override
  public long attentionStashLength(int batch, int heads, int nq, int nk) {
    return (long) batch * heads * nq * nk; // the probabilities
  }

  /** Element c of head h of row `row` of a q/k/v-like tensor with row stride ld. */
  private static long at(int row, int ld, int h, int headDim, int c) {
    return (long) row * ld + (long) h * headDim + c;
  }

  @Override
  public void attention(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor stash) {
    int d = s.headDim();
    double[] p = new double[s.nk()];
    for (int b = 0; b < s.batch(); b++) {
      for (int h = 0; h < s.heads(); h++) {
        for (int i = 0; i < s.nq(); i++) {
          int qi = b * s.nq() + i;
          double max = Double.NEGATIVE_INFINITY, sum = 0;
          for (int j = 0; j < s.nk(); j++) {
            int kj = b * s.nk() + j;
            double dot = 0;
            for (int c = 0; c < d; c++) dot += r(q).get(at(qi, s.ldq(), h, d, c)) * r(k).get(at(kj, s.ldkv(), h, d, c));
            p[j] = s.scale() * dot;
            max = Math.max(max, p[j]);
          }
          for (int j = 0; j < s.nk(); j++) sum += Math.exp(p[j] - max);
          for (int j = 0; j < s.nk(); j++) {
            p[j] = Math.exp(p[j] - max) / sum;
            if (stash != null) r(stash).set((((long) b * s.heads() + h) * s.nq() + i) * s.nk() + j, p[j]);
          }
          for (int c = 0; c < d; c++) {
            double o = 0;
            for (int j = 0; j < s.nk(); j++) o += p[j] * r(v).get(at(b * s.nk() + j, s.ldkv(), h, d, c));
            r(out).set(at(qi, s.width(), h, d, c), o);
          }
        }
      }
    }
  }

  @Override
  public void attentionBackward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor stash, Tensor dOut,
      Tensor dq, Tensor dk, Tensor dv) {
    int d = s.headDim(), nq = s.nq(), nk = s.nk();
    double[] p = new double[nk], dp = new double[nk];
    // the probabilities again from q and k (the reference does not rely on its own stash)
    for (int b = 0; b < s.batch(); b++) {
      for (int h = 0; h < s.heads(); h++) {
        for (int j = 0; j < nk; j++) {
          for (int c = 0; c < d; c++) {
            r(dk).set(at(b * nk + j, s.ldkv(), h, d, c), 0);
            r(dv).set(at(b * nk + j, s.ldkv(), h, d, c), 0);
          }
        }
        for (int i = 0; i < nq; i++) {
          int qi = b * nq + i;
          double max = Double.NEGATIVE_INFINITY, sum = 0;
          for (int j = 0; j < nk; j++) {
            double dot = 0;
            for (int c = 0; c < d; c++) dot += r(q).get(at(qi, s.ldq(), h, d, c)) * r(k).get(at(b * nk + j, s.ldkv(), h, d, c));
            p[j] = s.scale() * dot;
            max = Math.max(max, p[j]);
          }
          for (int j = 0; j < nk; j++) sum += Math.exp(p[j] - max);
          for (int j = 0; j < nk; j++) p[j] = Math.exp(p[j] - max) / sum;
          // dP_j = dO_i·v_j; dS_j = P_j (dP_j − Σ_l P_l dP_l); dv_j += P_j dO_i
          double dot = 0;
          for (int j = 0; j < nk; j++) {
            double g = 0;
            for (int c = 0; c < d; c++) {
              double go = r(dOut).get(at(qi, s.width(), h, d, c));
              g += go * r(v).get(at(b * nk + j, s.ldkv(), h, d, c));
              long dvi = at(b * nk + j, s.ldkv(), h, d, c);
              r(dv).set(dvi, r(dv).get(dvi) + p[j] * go);
            }
            dp[j] = g;
            dot += p[j] * g;
          }
          for (int c = 0; c < d; c++) {
            double g = 0;
            for (int j = 0; j < nk; j++) g += s.scale() * p[j] * (dp[j] - dot) * r(k).get(at(b * nk + j, s.ldkv(), h, d, c));
            r(dq).set(at(qi, s.ldq(), h, d, c), g);
          }
          for (int j = 0; j < nk; j++) {
            double ds = s.scale() * p[j] * (dp[j] - dot);
            for (int c = 0; c < d; c++) {
              long dki = at(b * nk + j, s.ldkv(), h, d, c);
              r(dk).set(dki, r(dk).get(dki) + ds * r(q).get(at(qi, s.ldq(), h, d, c)));
            }
          }
        }
      }
    }
  }

  @Override
  public void softTargetCrossEntropy(Tensor z, Tensor t, long rows, int cols, double temp, Tensor dz, double gradScale,
      Tensor scalars, int slot) {
    double total = 0;
    for (long i = 0; i < rows; i++) {
      double max = Double.NEGATIVE_INFINITY, s = 0;
      for (int c = 0; c < cols; c++) max = Math.max(max, r(z).get(i * cols + c) / temp);
      for (int c = 0; c < cols; c++) s += Math.exp(r(z).get(i * cols + c) / temp - max);
      for (int c = 0; c < cols; c++) {
        long o = i * cols + c;
        double logp = r(z).get(o) / temp - max - Math.log(s);
        total -= r(t).get(o) * logp;
        if (dz != null) r(dz).set(o, gradScale * (Math.exp(logp) - r(t).get(o)) / temp);
      }
    }
    r(scalars).set(slot, total);
  }

  @Override
  public void entropyRows(Tensor p, long rows, int cols, Tensor scalars, int slot) {
    double h = 0;
    for (long i = 0; i < rows * cols; i++) {
      double v = r(p).get(i);
      h -= v > 0 ? v * Math.log(v) : 0;
    }
    r(scalars).set(slot, h);
  }

  @Override
  public void columnMax(Tensor x, long problems, int samples, int cols, Tensor out) {
    for (long p = 0; p < problems; p++) {
      for (int k = 0; k < cols; k++) {
        double m = Double.NEGATIVE_INFINITY;
        for (int s = 0; s < samples; s++) m = Math.max(m, r(x).get((p * samples + s) * cols + k));
        r(out).set(p * cols + k, m);
      }
    }
  }

  private static void columnSum(Tensor x, long problems, int samples, int cols, Tensor out) {
    for (long p = 0; p < problems; p++) {
      for (int k = 0; k < cols; k++) {
        double m = 0;
        for (int s = 0; s < samples; s++) m += r(x).get((p * samples + s) * cols + k);
        r(out).set(p * cols + k, m);
      }
    }
  }

  @Override
  public void expShifted(Tensor x, Tensor shift, long problems, int samples, int cols, double scale, double offset,
      Tensor y, Tensor colsum) {
    for (long p = 0; p < problems; p++) {
      for (int s = 0; s < samples; s++) {
        for (int k = 0; k < cols; k++) {
          long o = (p * samples + s) * cols + k;
          r(y).set(o, Math.exp(scale * (r(x).get(o) - r(shift).get(p * cols + k)) + offset));
        }
      }
    }
    columnSum(y, problems, samples, cols, colsum);
  }

  @Override
  public void sinkhornStep(Tensor x, Tensor colsum, long problems, int samples, int cols, double eps, Tensor nextColsum) {
    for (long p = 0; p < problems; p++) {
      for (int s = 0; s < samples; s++) {
        for (int k = 0; k < cols; k++) {
          long o = (p * samples + s) * cols + k;
          r(x).set(o, r(x).get(o) / (r(colsum).get(p * cols + k) + eps));
        }
      }
    }
    for (long i = 0; i < problems * samples; i++) {
      double sum = 0;
      for (int c = 0; c < cols; c++) sum += r(x).get(i * cols + c);
      for (int c = 0; c < cols; c++) r(x).set(i * cols + c, r(x).get(i * cols + c) / (sum + eps));
    }
    if (nextColsum != null) columnSum(x, problems, samples, cols, nextColsum);
  }

  @Override
  public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd, double beta1,
      double beta2, double eps, long t, Tensor teacher, double momentum) {
    for (int s = 0; s + 1 < segments.length; s++) {
      for (long i = segments[s]; i < segments[s + 1]; i++) {
        double gi = r(g).get(i);
        r(p).set(i, r(p).get(i) * (1 - lr[s] * wd[s]));
        r(m).set(i, beta1 * r(m).get(i) + (1 - beta1) * gi);
        r(v).set(i, beta2 * r(v).get(i) + (1 - beta2) * gi * gi);
        double mHat = r(m).get(i) / (1 - Math.pow(beta1, t));
        double denom = Math.sqrt(r(v).get(i)) / Math.sqrt(1 - Math.pow(beta2, t)) + eps;
        r(p).set(i, r(p).get(i) - lr[s] * mHat / denom);
      }
    }
    if (teacher == null) return;
    for (long i = 0; i < teacher.length(); i++) {
      r(teacher).set(i, r(p).get(i) + momentum * (r(teacher).get(i) - r(p).get(i)));
    }
  }

  private static double sq(double v) {
    return v * v;
  }

  @Override
  public void close() {}
}
