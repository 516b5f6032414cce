package capi.engine.cpu;

import capi.engine.AttentionShape;
import capi.engine.Backend;
import capi.engine.DType;
import capi.engine.Precision;
import capi.engine.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The CPU backend: tensors are Java arrays, float32 loops are vectorised with the JDK's Vector
 * API (the preferred width: 16 lanes on AVX-512), matrix products are {@link Gemm}'s packed
 * micro-kernel and attention is {@link AttentionKernel}'s per-head loop, all split over a
 * {@link Team} of threads. float64 (parity and gradient checks) runs plain scalar loops with the
 * reference's arithmetic. bf16-mixed is not supported here.
 *
 * <p>Reductions over rows are computed per row (or per column range) and combined in a fixed
 * order, and every matrix element is one k-ordered sum: results do not depend on the thread
 * count. A backend serves one thread at a time (its worker).
 */
public final class CpuBackend implements Backend {
  private static final int ELEMENT_GRAIN = 16_384; // elements per chunk of element-wise loops
  private static final int COLUMN_BLOCK = 256; // columns per unit of column-wise loops

  private final Precision precision;
  private final Team team;
  private final Gemm.Scratch[] gemm;
  private final AttentionKernel.Scratch[] attention;
  private final float[][] rowsF;
  private final double[][] rowsD;
  private final List<ByteBuffer> hostBuffers = new ArrayList<>();
  private double[] perRow = new double[0];
  private long live;

  /** @param threads threads of every loop (the caller's included) */
  public CpuBackend(Precision precision, int threads) {
    if (precision == Precision.BF16_MIXED) {
      throw new IllegalArgumentException("bf16-mixed needs the cuda backend (the cpu backend runs float32 or float64)");
    }
    this.precision = precision;
    this.team = new Team(threads);
    int n = team.size();
    gemm = new Gemm.Scratch[n];
    attention = new AttentionKernel.Scratch[n];
    rowsF = new float[n][];
    rowsD = new double[n][];
    for (int i = 0; i < n; i++) {
      gemm[i] = new Gemm.Scratch();
      attention[i] = new AttentionKernel.Scratch();
      rowsF[i] = new float[0];
      rowsD[i] = new double[0];
    }
  }

  private static CpuTensor t(Tensor x) {
    return (CpuTensor) x;
  }

  private static boolean f32(Tensor x) {
    return t(x).f != null;
  }

  /** Float arguments of one call must share a dtype (F32 or F64) on this backend. */
  private static void same(Tensor first, Tensor... rest) {
    DType d = first.dtype();
    if (d != DType.F32 && d != DType.F64) throw new IllegalArgumentException("cpu backend: float tensor expected, got " + d);
    for (Tensor x : rest) {
      if (x != null && x.dtype() != d) throw new IllegalArgumentException("cpu backend: " + d + " mixed with " + x.dtype());
    }
  }

  private static void index(Tensor x) {
    if (x.dtype() != DType.I32) throw new IllegalArgumentException("cpu backend: I32 index expected, got " + x.dtype());
  }

  /** Per-thread float scratch of at least n elements. */
  private float[] rowF(int chunk, int n) {
    if (rowsF[chunk].length < n) rowsF[chunk] = new float[n];
    return rowsF[chunk];
  }

  private double[] rowD(int chunk, int n) {
    if (rowsD[chunk].length < n) rowsD[chunk] = new double[n];
    return rowsD[chunk];
  }

  /** A float64 value per row, summed in row order after a parallel loop. */
  private double[] perRow(int rows) {
    if (perRow.length < rows) perRow = new double[rows];
    return perRow;
  }

  private static double sumInOrder(double[] values, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += values[i];
    return s;
  }

  private static int rows(long rows) {
    if (rows > Integer.MAX_VALUE) throw new IllegalArgumentException("cpu backend: " + rows + " rows");
    return (int) rows;
  }

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public Precision precision() {
    return precision;
  }

  @Override
  public String describe() {
    return "cpu: " + team.size() + " threads, " + Vec.L + " float lanes per vector";
  }

  // ---- memory -------------------------------------------------------------------------------------

  @Override
  public Tensor allocate(DType dtype, long length) {
    CpuTensor x = CpuTensor.allocate(dtype, length);
    live += x.bytes();
    return x;
  }

  @Override
  public Tensor view(Tensor x, long offset, long length) {
    return t(x).view(offset, length);
  }

  @Override
  public void free(Tensor x) {
    if (x != null && t(x).owner) live -= t(x).bytes();
  }

  @Override
  public long allocatedBytes() {
    return live;
  }

  @Override
  public ByteBuffer hostBuffer(long bytes) {
    if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("cpu backend: a host buffer of " + bytes + " bytes");
    ByteBuffer b = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    hostBuffers.add(b);
    return b;
  }

  // ---- transfers ----------------------------------------------------------------------------------

  @Override
  public void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    CpuTensor x = t(dst);
    int o = x.off + (int) dstOffset;
    if (x.d != null) System.arraycopy(src, srcOffset, x.d, o, n);
    else if (x.f != null) for (int i = 0; i < n; i++) x.f[o + i] = (float) src[srcOffset + i];
    else throw new IllegalArgumentException("cpu backend: double[] into " + x.dtype);
  }

  @Override
  public void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    CpuTensor x = t(dst);
    int o = x.off + (int) dstOffset;
    if (x.f != null) System.arraycopy(src, srcOffset, x.f, o, n);
    else if (x.d != null) for (int i = 0; i < n; i++) x.d[o + i] = src[srcOffset + i];
    else throw new IllegalArgumentException("cpu backend: float[] into " + x.dtype);
  }

  @Override
  public void upload(int[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    index(dst);
    System.arraycopy(src, srcOffset, t(dst).i, t(dst).off + (int) dstOffset, n);
  }

  @Override
  public void upload(byte[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    if (dst.dtype() != DType.U8) throw new IllegalArgumentException("cpu backend: byte[] into " + dst.dtype());
    System.arraycopy(src, srcOffset, t(dst).u, t(dst).off + (int) dstOffset, n);
  }

  @Override
  public void download(Tensor src, long srcOffset, double[] dst, int dstOffset, int n) {
    CpuTensor x = t(src);
    if (x.d != null) System.arraycopy(x.d, x.off + (int) srcOffset, dst, dstOffset, n);
    else for (int i = 0; i < n; i++) dst[dstOffset + i] = x.get(srcOffset + i);
  }

  @Override
  public void download(Tensor src, long srcOffset, float[] dst, int dstOffset, int n) {
    CpuTensor x = t(src);
    if (x.f != null) System.arraycopy(x.f, x.off + (int) srcOffset, dst, dstOffset, n);
    else for (int i = 0; i < n; i++) dst[dstOffset + i] = (float) x.get(srcOffset + i);
  }

  @Override
  public void download(Tensor src, long srcOffset, int[] dst, int dstOffset, int n) {
    index(src);
    System.arraycopy(t(src).i, t(src).off + (int) srcOffset, dst, dstOffset, n);
  }

  @Override
  public void stage(Tensor src, ByteBuffer dst) {
    CpuTensor x = t(src);
    FloatBuffer fb = dst.duplicate().order(ByteOrder.nativeOrder()).position(0).asFloatBuffer();
    if (x.f != null) {
      fb.put(0, x.f, x.off, x.len);
    } else {
      team.run(x.len, ELEMENT_GRAIN, (lo, hi, c) -> {
        for (int i = lo; i < hi; i++) fb.put(i, (float) x.d[x.off + i]);
      });
    }
  }

  @Override
  public void unstage(ByteBuffer src, Tensor dst) {
    CpuTensor x = t(dst);
    FloatBuffer fb = src.duplicate().order(ByteOrder.nativeOrder()).position(0).asFloatBuffer();
    if (x.f != null) {
      fb.get(0, x.f, x.off, x.len);
    } else {
      team.run(x.len, ELEMENT_GRAIN, (lo, hi, c) -> {
        for (int i = lo; i < hi; i++) x.d[x.off + i] = fb.get(i);
      });
    }
  }

  // ---- element-wise -------------------------------------------------------------------------------

  @Override
  public void fill(Tensor x, double value) {
    CpuTensor a = t(x);
    switch (a.dtype) {
      case F32 -> java.util.Arrays.fill(a.f, a.off, a.off + a.len, (float) value);
      case F64 -> java.util.Arrays.fill(a.d, a.off, a.off + a.len, value);
      case I32 -> java.util.Arrays.fill(a.i, a.off, a.off + a.len, (int) value);
      case U8 -> java.util.Arrays.fill(a.u, a.off, a.off + a.len, (byte) value);
      case BF16 -> throw new IllegalStateException();
    }
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    CpuTensor s = t(src), d = t(dst);
    if (s.len != d.len) throw new IllegalArgumentException("copy of " + s.len + " into " + d.len);
    if (s.dtype == d.dtype) {
      System.arraycopy(array(s), s.off, array(d), d.off, s.len);
    } else if (s.f != null && d.d != null) {
      for (int i = 0; i < s.len; i++) d.d[d.off + i] = s.f[s.off + i];
    } else if (s.d != null && d.f != null) {
      for (int i = 0; i < s.len; i++) d.f[d.off + i] = (float) s.d[s.off + i];
    } else {
      throw new IllegalArgumentException("cpu backend: copy of " + s.dtype + " into " + d.dtype);
    }
  }

  private static Object array(CpuTensor x) {
    return x.f != null ? x.f : x.d != null ? x.d : x.i != null ? x.i : x.u;
  }

  @Override
  public void axpy(double alpha, Tensor x, Tensor y) {
    same(x, y);
    CpuTensor a = t(x), b = t(y);
    team.run(a.len, ELEMENT_GRAIN, (lo, hi, c) -> {
      if (a.f != null) {
        Vec.axpy((float) alpha, a.f, a.off + lo, b.f, b.off + lo, hi - lo);
      } else {
        for (int i = lo; i < hi; i++) b.d[b.off + i] += alpha * a.d[a.off + i];
      }
    });
  }

  @Override
  public void scale(Tensor x, double alpha) {
    same(x);
    CpuTensor a = t(x);
    team.run(a.len, ELEMENT_GRAIN, (lo, hi, c) -> {
      if (a.f != null) {
        Vec.scale((float) alpha, a.f, a.off + lo, a.f, a.off + lo, hi - lo);
      } else {
        for (int i = lo; i < hi; i++) a.d[a.off + i] *= alpha;
      }
    });
  }

  @Override
  public void sumSquares(Tensor x, Tensor scalars, int slot) {
    same(x);
    CpuTensor a = t(x);
    int blocks = (a.len + ELEMENT_GRAIN - 1) / ELEMENT_GRAIN;
    double[] part = perRow(blocks);
    team.run(blocks, 1, (lo, hi, c) -> {
      for (int blk = lo; blk < hi; blk++) {
        int from = blk * ELEMENT_GRAIN, to = Math.min(a.len, from + ELEMENT_GRAIN);
        double s = 0;
        if (a.f != null) {
          s = Vec.sumSquares(a.f, a.off + from, to - from);
        } else {
          for (int i = from; i < to; i++) s += a.d[a.off + i] * a.d[a.off + i];
        }
        part[blk] = s;
      }
    });
    t(scalars).set(slot, sumInOrder(part, blocks));
  }

  @Override
  public long checksum(Tensor x) {
    CpuTensor a = t(x);
    long h = 1125899906842597L;
    for (int i = 0; i < a.len; i++) {
      long bits = a.f != null ? Float.floatToRawIntBits(a.f[a.off + i]) : Double.doubleToRawLongBits(a.d[a.off + i]);
      h = 31 * h + bits;
    }
    return h;
  }

  // ---- matrix products ----------------------------------------------------------------------------

  @Override
  public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Tensor a, long aOffset, int lda,
      Tensor b, long bOffset, int ldb, double beta, Tensor c, long cOffset, int ldc, int batch, long strideA,
      long strideB, long strideC) {
    same(a, b, c);
    CpuTensor ta = t(a), tb = t(b), tc = t(c);
    if (m == 0 || n == 0 || batch == 0) return;
    if (batch >= team.size()) {
      team.run(batch, 1, (lo, hi, chunk) -> {
        for (int q = lo; q < hi; q++) {
          one(transA, transB, 0, m, 0, n, k, alpha, ta, (int) (aOffset + q * strideA), lda, tb,
              (int) (bOffset + q * strideB), ldb, beta, tc, (int) (cOffset + q * strideC), ldc, chunk);
        }
      });
      return;
    }
    for (int q = 0; q < batch; q++) {
      int ao = (int) (aOffset + q * strideA), bo = (int) (bOffset + q * strideB), co = (int) (cOffset + q * strideC);
      long work = (long) m * n * k;
      if (ta.d != null || work < 64 * 64 * 64) {
        // small products, and float64: split rows only
        team.run(m, Math.max(Gemm.MR, (int) (64L * 64 * 64 / Math.max(1, (long) n * k))), 2 * team.size(), (lo, hi, chunk) ->
            one(transA, transB, lo, hi, 0, n, k, alpha, ta, ao, lda, tb, bo, ldb, beta, tc, co, ldc, chunk));
      } else if (m >= 4 * Gemm.MR * team.size() && !(transB && n >= 2 * Gemm.NR * team.size())) {
        // rows split; a transposed B (packed per panel) with panels enough splits by panels instead,
        // so that no panel is packed twice
        int strips = (m + Gemm.MR - 1) / Gemm.MR;
        team.run(strips, 4, 2 * team.size(), (lo, hi, chunk) -> one(transA, transB, lo * Gemm.MR, Math.min(m, hi * Gemm.MR), 0, n, k,
            alpha, ta, ao, lda, tb, bo, ldb, beta, tc, co, ldc, chunk));
      } else {
        int panels = (n + Gemm.NR - 1) / Gemm.NR;
        team.run(panels, 1, 2 * team.size(), (lo, hi, chunk) -> one(transA, transB, 0, m, lo * Gemm.NR, Math.min(n, hi * Gemm.NR), k,
            alpha, ta, ao, lda, tb, bo, ldb, beta, tc, co, ldc, chunk));
      }
    }
  }

  /** One product on rows [m0, m1) and columns [n0, n1) of C, on the calling thread. */
  private void one(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k, double alpha, CpuTensor a,
      int ao, int lda, CpuTensor b, int bo, int ldb, double beta, CpuTensor c, int co, int ldc, int chunk) {
    Gemm.Scratch s = gemm[chunk];
    if (a.f != null) {
      Gemm.sgemm(transA, transB, m0, m1, n0, n1, k, (float) alpha, a.f, a.off + ao, lda, b.f, b.off + bo, ldb,
          (float) beta, c.f, c.off + co, ldc, s);
    } else {
      double[] rowB = Gemm.packRows(transB, n1, k, b.d, b.off + bo, ldb, s);
      Gemm.dgemm(transA, m0, m1, n1, k, alpha, a.d, a.off + ao, lda, rowB, beta, c.d, c.off + co, ldc, s);
    }
  }

  // ---- rows ---------------------------------------------------------------------------------------

  @Override
  public void addRowVector(Tensor x, long rows, int cols, Tensor v) {
    same(x, v);
    CpuTensor a = t(x), w = t(v);
    team.run(rows(rows), Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        if (a.f != null) Vec.axpy(1, w.f, w.off, a.f, a.off + r * cols, cols);
        else for (int j = 0; j < cols; j++) a.d[a.off + r * cols + j] += w.d[w.off + j];
      }
    });
  }

  @Override
  public void sumRows(Tensor x, long rows, int cols, Tensor out) {
    same(x, out);
    CpuTensor a = t(x), o = t(out);
    int n = rows(rows);
    // columns split over threads: every column is one row-ordered sum
    team.run(cols, Math.max(Vec.L, (int) (ELEMENT_GRAIN / Math.max(1, n))), (lo, hi, c) -> {
      if (a.f != null) {
        float[] acc = rowF(c, hi - lo);
        System.arraycopy(o.f, o.off + lo, acc, 0, hi - lo);
        for (int r = 0; r < n; r++) Vec.axpy(1, a.f, a.off + r * cols + lo, acc, 0, hi - lo);
        System.arraycopy(acc, 0, o.f, o.off + lo, hi - lo);
      } else {
        for (int j = lo; j < hi; j++) {
          double s = 0;
          for (int r = 0; r < n; r++) s += a.d[a.off + r * cols + j];
          o.d[o.off + j] += s;
        }
      }
    });
  }

  @Override
  public void gatherRows(Tensor src, Tensor index, int cols, Tensor dst) {
    index(index);
    CpuTensor s = t(src), ix = t(index), d = t(dst);
    Object from = array(s), to = array(d);
    team.run(ix.len, Math.max(1, ELEMENT_GRAIN / Math.max(1, cols)), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) System.arraycopy(from, s.off + ix.i[ix.off + r] * cols, to, d.off + r * cols, cols);
    });
  }

  @Override
  public void scatterAddRows(Tensor src, Tensor index, int cols, double alpha, Tensor dst) {
    index(index);
    same(src, dst);
    CpuTensor s = t(src), ix = t(index), d = t(dst);
    int n = ix.len;
    // columns split over threads: repeated indices add up in index order, without races
    team.run(cols, Math.max(Vec.L, ELEMENT_GRAIN / Math.max(1, n)), (lo, hi, c) -> {
      for (int r = 0; r < n; r++) {
        int to = d.off + ix.i[ix.off + r] * cols + lo, from = s.off + r * cols + lo;
        if (s.f != null) Vec.axpy((float) alpha, s.f, from, d.f, to, hi - lo);
        else for (int j = 0; j < hi - lo; j++) d.d[to + j] += alpha * s.d[from + j];
      }
    });
  }

  @Override
  public void patchify(Tensor images, int channels, int height, int width, int patch, Tensor index, Tensor dst) {
    index(index);
    same(images, dst);
    CpuTensor im = t(images), ix = t(index), d = t(dst);
    Object from = array(im), to = array(d);
    int gw = width / patch, perImage = (height / patch) * gw, cols = channels * patch * patch;
    team.run(ix.len, 16, (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int at = ix.i[ix.off + r], img = at / perImage, n = at % perImage;
        int y0 = (n / gw) * patch, x0 = (n % gw) * patch, o = d.off + r * cols;
        for (int ch = 0; ch < channels; ch++) {
          int base = im.off + (img * channels + ch) * height * width;
          for (int i = 0; i < patch; i++) {
            System.arraycopy(from, base + (y0 + i) * width + x0, to, o, patch);
            o += patch;
          }
        }
      }
    });
  }

  @Override
  public void normalizeImages(Tensor pixels, int channels, long plane, double[] mean, double[] std, Tensor dst) {
    if (pixels.dtype() != DType.U8) throw new IllegalArgumentException("cpu backend: pixels of dtype " + pixels.dtype());
    same(dst);
    CpuTensor p = t(pixels), d = t(dst);
    int pl = (int) plane, planes = p.len / pl;
    team.run(planes, 1, (lo, hi, c) -> {
      for (int q = lo; q < hi; q++) {
        int ch = q % channels, o = q * pl;
        if (d.f != null) {
          float m = (float) mean[ch], sd = (float) std[ch];
          for (int i = 0; i < pl; i++) d.f[d.off + o + i] = ((p.u[p.off + o + i] & 0xFF) / 255f - m) / sd;
        } else {
          for (int i = 0; i < pl; i++) d.d[d.off + o + i] = ((p.u[p.off + o + i] & 0xFF) / 255.0 - mean[ch]) / std[ch];
        }
      }
    });
  }

  @Override
  public void tokenCoordinates(Tensor patchIndex, int batch, int registers, int gridH, int gridW, Tensor coords) {
    index(patchIndex);
    same(coords);
    CpuTensor ix = t(patchIndex), out = t(coords);
    int tokens = ix.len / batch, stride = registers + tokens, side = registers / 4, n = gridH * gridW;
    for (int b = 0; b < batch; b++) {
      double minY = Double.POSITIVE_INFINITY, minX = Double.POSITIVE_INFINITY;
      double maxY = Double.NEGATIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < tokens; i++) {
        int p = ix.i[ix.off + b * tokens + i] % n;
        double y = linspace(p / gridW, gridH), x = linspace(p % gridW, gridW);
        int o = 2 * (b * stride + registers + i);
        out.set(o, y);
        out.set(o + 1, x);
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
        int o = 2 * (b * stride + i);
        out.set(o, minY + ey * (maxY - minY));
        out.set(o + 1, minX + ex * (maxX - minX));
      }
    }
  }

  private static double linspace(int i, int m) {
    return m == 1 ? 0 : (double) i / (m - 1);
  }

  // ---- normalisations -----------------------------------------------------------------------------

  @Override
  public void rmsNorm(Tensor x, Tensor w, long rows, int cols, double eps, Tensor y, Tensor rstd) {
    same(x, w, y, rstd);
    CpuTensor a = t(x), g = w == null ? null : t(w), o = t(y), rs = t(rstd);
    team.run(rows(rows), Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int xo = a.off + r * cols, yo = o.off + r * cols;
        if (a.f != null) {
          float inv = (float) (1 / Math.sqrt(Vec.sumSquares(a.f, xo, cols) / (double) cols + eps));
          rs.f[rs.off + r] = inv;
          if (g == null) {
            Vec.scale(inv, a.f, xo, o.f, yo, cols);
          } else {
            int j = 0;
            for (; j <= cols - Vec.L; j += Vec.L) {
              FloatVector.fromArray(Vec.S, a.f, xo + j).mul(inv).mul(FloatVector.fromArray(Vec.S, g.f, g.off + j))
                  .intoArray(o.f, yo + j);
            }
            for (; j < cols; j++) o.f[yo + j] = a.f[xo + j] * inv * g.f[g.off + j];
          }
        } else {
          double ss = 0;
          for (int j = 0; j < cols; j++) ss += a.d[xo + j] * a.d[xo + j];
          double inv = 1 / Math.sqrt(ss / cols + eps);
          rs.d[rs.off + r] = inv;
          for (int j = 0; j < cols; j++) o.d[yo + j] = a.d[xo + j] * inv * (g == null ? 1 : g.d[g.off + j]);
        }
      }
    });
  }

  @Override
  public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, long rows, int cols, Tensor dx, Tensor dw) {
    same(x, w, rstd, dy, dx, dw);
    CpuTensor a = t(x), g = w == null ? null : t(w), rs = t(rstd), gy = t(dy), gx = t(dx);
    int n = rows(rows);
    team.run(n, Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int o = r * cols;
        if (a.f != null) {
          float[] gw = rowF(c, cols); // dy·w
          if (g == null) System.arraycopy(gy.f, gy.off + o, gw, 0, cols);
          else for (int j = 0; j < cols; j++) gw[j] = gy.f[gy.off + o + j] * g.f[g.off + j];
          float inv = rs.f[rs.off + r];
          float k = inv * inv * inv * Vec.dot(gw, 0, a.f, a.off + o, cols) / cols;
          Vec.axpy(inv, gw, 0, gx.f, gx.off + o, cols);
          Vec.axpy(-k, a.f, a.off + o, gx.f, gx.off + o, cols);
        } else {
          double inv = rs.d[rs.off + r], dot = 0;
          for (int j = 0; j < cols; j++) dot += gy.d[gy.off + o + j] * (g == null ? 1 : g.d[g.off + j]) * a.d[a.off + o + j];
          double k = inv * inv * inv * dot / cols;
          for (int j = 0; j < cols; j++) {
            gx.d[gx.off + o + j] += gy.d[gy.off + o + j] * (g == null ? 1 : g.d[g.off + j]) * inv - k * a.d[a.off + o + j];
          }
        }
      }
    });
    if (dw == null) return;
    CpuTensor gwt = t(dw);
    // dw[j] += Σ_r dy[r, j]·x[r, j]·rstd[r]: columns split over threads, each a row-ordered sum
    team.run(cols, Math.max(Vec.L, ELEMENT_GRAIN / Math.max(1, n)), (lo, hi, c) -> {
      if (a.f != null) {
        float[] acc = rowF(c, hi - lo);
        java.util.Arrays.fill(acc, 0, hi - lo, 0);
        for (int r = 0; r < n; r++) {
          int o = r * cols + lo;
          float inv = rs.f[rs.off + r];
          int j = 0;
          for (; j <= hi - lo - Vec.L; j += Vec.L) {
            FloatVector.fromArray(Vec.S, gy.f, gy.off + o + j).mul(FloatVector.fromArray(Vec.S, a.f, a.off + o + j))
                .mul(inv).add(FloatVector.fromArray(Vec.S, acc, j)).intoArray(acc, j);
          }
          for (; j < hi - lo; j++) acc[j] += gy.f[gy.off + o + j] * a.f[a.off + o + j] * inv;
        }
        Vec.axpy(1, acc, 0, gwt.f, gwt.off + lo, hi - lo);
      } else {
        for (int j = lo; j < hi; j++) {
          double s = 0;
          for (int r = 0; r < n; r++) s += gy.d[gy.off + r * cols + j] * a.d[a.off + r * cols + j] * rs.d[rs.off + r];
          gwt.d[gwt.off + j] += s;
        }
      }
    });
  }

  @Override
  public void l2Normalize(Tensor x, long rows, int cols, double eps, Tensor y, Tensor norm) {
    same(x, y, norm);
    CpuTensor a = t(x), o = t(y), nm = t(norm);
    team.run(rows(rows), Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int xo = a.off + r * cols, yo = o.off + r * cols;
        if (a.f != null) {
          double nrm = Math.sqrt(Vec.sumSquares(a.f, xo, cols));
          nm.f[nm.off + r] = (float) nrm;
          Vec.scale((float) (1 / Math.max(nrm, eps)), a.f, xo, o.f, yo, cols);
        } else {
          double ss = 0;
          for (int j = 0; j < cols; j++) ss += a.d[xo + j] * a.d[xo + j];
          double nrm = Math.sqrt(ss), inv = 1 / Math.max(nrm, eps);
          nm.d[nm.off + r] = nrm;
          for (int j = 0; j < cols; j++) o.d[yo + j] = a.d[xo + j] * inv;
        }
      }
    });
  }

  @Override
  public void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, long rows, int cols, double eps, Tensor dx) {
    same(y, norm, dy, dx);
    CpuTensor u = t(y), nm = t(norm), g = t(dy), out = t(dx);
    team.run(rows(rows), Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int o = r * cols;
        double nrm = nm.get(r);
        if (u.f != null) {
          if (nrm > eps) {
            float dot = Vec.dot(u.f, u.off + o, g.f, g.off + o, cols), inv = (float) (1 / nrm);
            float[] tmp = rowF(c, cols);
            Vec.scale(inv, g.f, g.off + o, tmp, 0, cols);
            Vec.axpy(-dot * inv, u.f, u.off + o, tmp, 0, cols);
            System.arraycopy(tmp, 0, out.f, out.off + o, cols);
          } else {
            Vec.scale((float) (1 / eps), g.f, g.off + o, out.f, out.off + o, cols);
          }
        } else {
          double dot = 0;
          for (int j = 0; j < cols; j++) dot += u.d[u.off + o + j] * g.d[g.off + o + j];
          for (int j = 0; j < cols; j++) {
            out.d[out.off + o + j] = nrm > eps ? (g.d[g.off + o + j] - u.d[u.off + o + j] * dot) / nrm : g.d[g.off + o + j] / eps;
          }
        }
      }
    });
  }

  @Override
  public void weightNorm(Tensor v, Tensor g, long rows, int cols, Tensor w, Tensor norms) {
    same(v, g, w, norms);
    CpuTensor a = t(v), gn = t(g), o = t(w), nm = t(norms);
    team.run(rows(rows), Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int vo = a.off + r * cols, wo = o.off + r * cols;
        if (a.f != null) {
          double nrm = Math.sqrt(Vec.sumSquares(a.f, vo, cols));
          nm.f[nm.off + r] = (float) nrm;
          Vec.scale((float) (gn.f[gn.off + r] / (nrm + 1e-8)), a.f, vo, o.f, wo, cols);
        } else {
          double ss = 0;
          for (int j = 0; j < cols; j++) ss += a.d[vo + j] * a.d[vo + j];
          double nrm = Math.sqrt(ss), k = gn.d[gn.off + r] / (nrm + 1e-8);
          nm.d[nm.off + r] = nrm;
          for (int j = 0; j < cols; j++) o.d[wo + j] = a.d[vo + j] * k;
        }
      }
    });
  }

  @Override
  public void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, long rows, int cols, Tensor dv, Tensor dg) {
    same(v, g, norms, dw, dv, dg);
    CpuTensor a = t(v), gn = t(g), nm = t(norms), gw = t(dw), gv = t(dv), gg = t(dg);
    team.run(rows(rows), Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int o = r * cols;
        double nrm = nm.get(r), den = nrm + 1e-8, gr = gn.get(r);
        if (a.f != null) {
          double dot = Vec.dot(gw.f, gw.off + o, a.f, a.off + o, cols);
          gg.f[gg.off + r] += (float) (dot / den);
          double k = nrm > 0 ? gr * dot / (den * den * nrm) : 0;
          Vec.axpy((float) (gr / den), gw.f, gw.off + o, gv.f, gv.off + o, cols);
          Vec.axpy((float) -k, a.f, a.off + o, gv.f, gv.off + o, cols);
        } else {
          double dot = 0;
          for (int j = 0; j < cols; j++) dot += gw.d[gw.off + o + j] * a.d[a.off + o + j];
          gg.d[gg.off + r] += dot / den;
          double k = nrm > 0 ? gr * dot / (den * den * nrm) : 0;
          for (int j = 0; j < cols; j++) gv.d[gv.off + o + j] += gr / den * gw.d[gw.off + o + j] - k * a.d[a.off + o + j];
        }
      }
    });
  }

  // ---- activations --------------------------------------------------------------------------------

  @Override
  public void gelu(Tensor x, Tensor y) {
    same(x, y);
    CpuTensor a = t(x), o = t(y);
    double sqrtHalf = Math.sqrt(0.5);
    team.run(a.len, ELEMENT_GRAIN, (lo, hi, c) -> {
      if (a.f != null) {
        Vec.gelu(a.f, a.off + lo, o.f, o.off + lo, hi - lo, rowF(c, Vec.GELU_BLOCK));
      } else {
        for (int i = lo; i < hi; i++) {
          double v = a.d[a.off + i];
          o.d[o.off + i] = 0.5 * v * (1 + Erf.precise(v * sqrtHalf));
        }
      }
    });
  }

  @Override
  public void geluBackward(Tensor x, Tensor dy, Tensor dx) {
    same(x, dy, dx);
    CpuTensor a = t(x), g = t(dy), o = t(dx);
    double sqrtHalf = Math.sqrt(0.5), invSqrt2Pi = 1 / Math.sqrt(2 * Math.PI);
    team.run(a.len, ELEMENT_GRAIN, (lo, hi, c) -> {
      if (a.f != null) {
        Vec.geluBackward(a.f, a.off + lo, g.f, g.off + lo, o.f, o.off + lo, hi - lo, rowF(c, 2 * Vec.GELU_BLOCK));
      } else {
        for (int i = lo; i < hi; i++) {
          double v = a.d[a.off + i];
          double grad = 0.5 * (1 + Erf.precise(v * sqrtHalf)) + v * invSqrt2Pi * Math.exp(-0.5 * v * v);
          o.d[o.off + i] = g.d[g.off + i] * grad;
        }
      }
    });
  }

  // ---- rotary position embedding ------------------------------------------------------------------

  @Override
  public void ropeTables(Tensor coords, Tensor freqs, long rows, int headDim, Tensor cos, Tensor sin) {
    same(coords, freqs, cos, sin);
    CpuTensor xy = t(coords), fr = t(freqs), co = t(cos), si = t(sin);
    team.run(rows(rows), 16, (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        double y = xy.get(2L * r), x = xy.get(2L * r + 1);
        for (int k = 0; k < headDim; k++) {
          double angle = y * fr.get(k) + x * fr.get(headDim + k);
          co.set((long) r * headDim + k, Math.cos(angle));
          si.set((long) r * headDim + k, Math.sin(angle));
        }
      }
    });
  }

  @Override
  public void rope(Tensor x, int ld, long rows, int heads, int headDim, Tensor cos, Tensor sin, long tableRows,
      boolean transpose) {
    same(x, cos, sin);
    CpuTensor a = t(x), co = t(cos), si = t(sin);
    int half = headDim / 2, period = (int) tableRows;
    team.run(rows(rows), Math.max(1, ELEMENT_GRAIN / (heads * headDim)), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int tr = (r % period) * headDim;
        for (int h = 0; h < heads; h++) {
          int o = r * ld + h * headDim;
          if (a.f != null) ropeF(a.f, a.off + o, co.f, si.f, co.off + tr, si.off + tr, half, transpose);
          else ropeD(a.d, a.off + o, co.d, si.d, co.off + tr, si.off + tr, half, transpose);
        }
      }
    });
  }

  private static void ropeF(float[] x, int o, float[] cos, float[] sin, int co, int so, int half, boolean transpose) {
    int k = 0;
    for (; k <= half - Vec.L; k += Vec.L) {
      FloatVector x1 = FloatVector.fromArray(Vec.S, x, o + k), x2 = FloatVector.fromArray(Vec.S, x, o + half + k);
      FloatVector c1 = FloatVector.fromArray(Vec.S, cos, co + k), c2 = FloatVector.fromArray(Vec.S, cos, co + half + k);
      FloatVector s1 = FloatVector.fromArray(Vec.S, sin, so + k), s2 = FloatVector.fromArray(Vec.S, sin, so + half + k);
      if (!transpose) {
        x1.mul(c1).sub(x2.mul(s1)).intoArray(x, o + k);
        x2.mul(c2).add(x1.mul(s2)).intoArray(x, o + half + k);
      } else {
        x1.mul(c1).add(x2.mul(s2)).intoArray(x, o + k);
        x2.mul(c2).sub(x1.mul(s1)).intoArray(x, o + half + k);
      }
    }
    for (; k < half; k++) {
      float x1 = x[o + k], x2 = x[o + half + k];
      if (!transpose) {
        x[o + k] = x1 * cos[co + k] - x2 * sin[so + k];
        x[o + half + k] = x2 * cos[co + half + k] + x1 * sin[so + half + k];
      } else {
        x[o + k] = x1 * cos[co + k] + x2 * sin[so + half + k];
        x[o + half + k] = x2 * cos[co + half + k] - x1 * sin[so + k];
      }
    }
  }

  private static void ropeD(double[] x, int o, double[] cos, double[] sin, int co, int so, int half, boolean transpose) {
    for (int k = 0; k < half; k++) {
      double x1 = x[o + k], x2 = x[o + half + k];
      if (!transpose) {
        x[o + k] = x1 * cos[co + k] - x2 * sin[so + k];
        x[o + half + k] = x2 * cos[co + half + k] + x1 * sin[so + half + k];
      } else {
        x[o + k] = x1 * cos[co + k] + x2 * sin[so + half + k];
        x[o + half + k] = x2 * cos[co + half + k] - x1 * sin[so + k];
      }
    }
  }

  // ---- attention ----------------------------------------------------------------------------------

  @Override
  public long attentionStashLength(int batch, int heads, int nq, int nk) {
    return (long) batch * heads * nq * nk;
  }

  @Override
  public void attention(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor stash) {
    same(q, k, v, out, stash);
    CpuTensor tq = t(q), tk = t(k), tv = t(v), to = t(out), ts = stash == null ? null : t(stash);
    team.run(s.batch() * s.heads(), 1, (lo, hi, c) -> {
      for (int pair = lo; pair < hi; pair++) {
        if (tq.f != null) AttentionKernel.forward(s, pair, tq, tk, tv, to, ts, attention[c], gemm[c]);
        else AttentionKernel.forward64(s, pair, tq, tk, tv, to, ts, attention[c]);
      }
    });
  }

  @Override
  public void attentionBackward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor stash, Tensor dOut,
      Tensor dq, Tensor dk, Tensor dv) {
    same(q, k, v, stash, dOut, dq, dk, dv);
    CpuTensor tq = t(q), tk = t(k), tv = t(v), ts = t(stash), tg = t(dOut), gq = t(dq), gk = t(dk), gv = t(dv);
    team.run(s.batch() * s.heads(), 1, (lo, hi, c) -> {
      for (int pair = lo; pair < hi; pair++) {
        if (tq.f != null) AttentionKernel.backward(s, pair, tq, tk, tv, ts, tg, gq, gk, gv, attention[c], gemm[c]);
        else AttentionKernel.backward64(s, pair, tq, tk, tv, ts, tg, gq, gk, gv, attention[c]);
      }
    });
  }

  // ---- losses -------------------------------------------------------------------------------------

  @Override
  public void softTargetCrossEntropy(Tensor z, Tensor t, long rows, int cols, double temp, Tensor dz, double gradScale,
      Tensor scalars, int slot) {
    same(z, t, dz);
    CpuTensor zs = t(z), ts = t(t), ds = dz == null ? null : t(dz);
    int n = rows(rows);
    double[] loss = perRow(n);
    team.run(n, Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int o = r * cols;
        if (zs.f != null) loss[r] = crossEntropyRow(zs.f, zs.off + o, ts.f, ts.off + o, cols, temp,
            ds == null ? rowF(c, cols) : ds.f, ds == null ? 0 : ds.off + o, ds != null, gradScale);
        else loss[r] = crossEntropyRow64(zs.d, zs.off + o, ts.d, ts.off + o, cols, temp, ds, o, gradScale, rowD(c, cols));
      }
    });
    t(scalars).set(slot, sumInOrder(loss, n));
  }

  /** One row in float32: returns its loss; e (a scratch row, or dz) receives exp, then the gradient. */
  private static double crossEntropyRow(float[] z, int zo, float[] q, int qo, int cols, double temp, float[] e, int eo,
      boolean gradient, double gradScale) {
    float inv = (float) (1 / temp);
    float max = Vec.max(z, zo, cols) * inv;
    float sum = Vec.expSum(z, zo, inv, max, e, eo, cols);
    double d = Vec.dotShifted(q, qo, z, zo, inv, max, cols), m = Vec.sum(q, qo, cols); // Σ t·(z/τ − max), Σ t
    if (gradient) {
      Vec.softmaxGradient(e, eo, 1 / sum, q, qo, (float) (gradScale / temp), cols);
    }
    return m * Math.log(sum) - d; // −Σ t·log softmax = Σt·log Σe − Σ t·(z/τ − max)
  }

  private static double crossEntropyRow64(double[] z, int zo, double[] q, int qo, int cols, double temp, CpuTensor dz,
      int o, double gradScale, double[] a) {
    double max = Double.NEGATIVE_INFINITY, sum = 0, dot = 0, mass = 0;
    for (int c = 0; c < cols; c++) max = Math.max(max, a[c] = z[zo + c] / temp);
    for (int c = 0; c < cols; c++) {
      dot += q[qo + c] * (a[c] - max);
      mass += q[qo + c];
      sum += a[c] = Math.exp(a[c] - max);
    }
    if (dz != null) {
      double k = gradScale / temp, inv = 1 / sum;
      for (int c = 0; c < cols; c++) dz.d[dz.off + o + c] = k * (a[c] * inv - q[qo + c]);
    }
    return mass * Math.log(sum) - dot;
  }

  @Override
  public void entropyRows(Tensor p, long rows, int cols, Tensor scalars, int slot) {
    same(p);
    CpuTensor ps = t(p);
    int n = rows(rows);
    double[] h = perRow(n);
    team.run(n, Math.max(1, ELEMENT_GRAIN / cols), (lo, hi, c) -> {
      for (int r = lo; r < hi; r++) {
        int o = ps.off + r * cols;
        double s = 0;
        if (ps.f != null) {
          s = -Vec.entropy(ps.f, o, cols);
        } else {
          for (int j = 0; j < cols; j++) if (ps.d[o + j] > 0) s += ps.d[o + j] * Math.log(ps.d[o + j]);
        }
        h[r] = -s;
      }
    });
    t(scalars).set(slot, sumInOrder(h, n));
  }

  // ---- Sinkhorn-Knopp -----------------------------------------------------------------------------

  @Override
  public void columnMax(Tensor x, long problems, int samples, int cols, Tensor out) {
    same(x, out);
    CpuTensor a = t(x), o = t(out);
    int blocks = (cols + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
    team.run(rows(problems) * blocks, 1, (lo, hi, c) -> {
      for (int unit = lo; unit < hi; unit++) {
        int p = unit / blocks, k0 = (unit % blocks) * COLUMN_BLOCK, k1 = Math.min(cols, k0 + COLUMN_BLOCK);
        int oo = o.off + p * cols;
        for (int k = k0; k < k1; k++) o.set(oo - o.off + k, Double.NEGATIVE_INFINITY);
        for (int s = 0; s < samples; s++) {
          int xo = a.off + (p * samples + s) * cols;
          if (a.f != null) {
            int k = k0;
            for (; k <= k1 - Vec.L; k += Vec.L) {
              FloatVector.fromArray(Vec.S, o.f, oo + k).max(FloatVector.fromArray(Vec.S, a.f, xo + k)).intoArray(o.f, oo + k);
            }
            for (; k < k1; k++) o.f[oo + k] = Math.max(o.f[oo + k], a.f[xo + k]);
          } else {
            for (int k = k0; k < k1; k++) o.d[oo + k] = Math.max(o.d[oo + k], a.d[xo + k]);
          }
        }
      }
    });
  }

  @Override
  public void expShifted(Tensor x, Tensor shift, long problems, int samples, int cols, double scale, double offset,
      Tensor y, Tensor colsum) {
    same(x, shift, y, colsum);
    CpuTensor a = t(x), sh = t(shift), o = t(y), cs = t(colsum);
    int blocks = (cols + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
    team.run(rows(problems) * blocks, 1, (lo, hi, c) -> {
      for (int unit = lo; unit < hi; unit++) {
        int p = unit / blocks, k0 = (unit % blocks) * COLUMN_BLOCK, k1 = Math.min(cols, k0 + COLUMN_BLOCK);
        int so = p * cols;
        if (a.f != null) {
          float sc = (float) scale, off = (float) offset;
          java.util.Arrays.fill(cs.f, cs.off + so + k0, cs.off + so + k1, 0);
          for (int s = 0; s < samples; s++) {
            int xo = (p * samples + s) * cols;
            Vec.expShiftedRow(a.f, a.off + xo + k0, sh.f, sh.off + so + k0, sc, off, o.f, o.off + xo + k0, cs.f,
                cs.off + so + k0, k1 - k0);
          }
        } else {
          for (int k = k0; k < k1; k++) cs.d[cs.off + so + k] = 0;
          for (int s = 0; s < samples; s++) {
            int xo = (p * samples + s) * cols;
            for (int k = k0; k < k1; k++) {
              double e = Math.exp(scale * (a.d[a.off + xo + k] - sh.d[sh.off + so + k]) + offset);
              o.d[o.off + xo + k] = e;
              cs.d[cs.off + so + k] += e;
            }
          }
        }
      }
    });
  }

  @Override
  public void sinkhornStep(Tensor x, Tensor colsum, long problems, int samples, int cols, double eps, Tensor nextColsum) {
    same(x, colsum, nextColsum);
    CpuTensor a = t(x), cs = t(colsum), ns = nextColsum == null ? null : t(nextColsum);
    int np = rows(problems);
    if (np >= team.size()) {
      // one sweep per problem: column step, row step and the next column sums together
      team.run(np, 1, (lo, hi, c) -> {
        for (int p = lo; p < hi; p++) sinkhornRows(a, cs, p, samples, 0, samples, cols, eps, ns, true, c);
      });
      return;
    }
    // few problems: rows split over threads, then the column sums split by columns
    for (int p = 0; p < np; p++) {
      int problem = p;
      team.run(samples, 8, (lo, hi, c) -> sinkhornRows(a, cs, problem, samples, lo, hi, cols, eps, null, false, c));
      if (ns != null) columnSums(a, problem, samples, cols, ns);
    }
  }

  /** Column and row steps on samples [s0, s1) of problem p; with next, their column sums (s0 = 0, s1 = all). */
  private void sinkhornRows(CpuTensor a, CpuTensor cs, int p, int samples, int s0, int s1, int cols, double eps,
      CpuTensor next, boolean sums, int chunk) {
    int co = p * cols;
    if (a.f != null) {
      float[] inv = rowF(chunk, 2 * cols); // [0, cols): 1/(colsum + eps); [cols, 2·cols): next sums
      for (int k = 0; k < cols; k++) inv[k] = (float) (1 / (cs.f[cs.off + co + k] + eps));
      if (sums) java.util.Arrays.fill(inv, cols, 2 * cols, 0);
      for (int s = s0; s < s1; s++) {
        int o = a.off + (p * samples + s) * cols;
        float rowSum = Vec.mulSum(a.f, o, inv, 0, cols);
        float r = (float) (1 / (rowSum + eps));
        int k = 0;
        for (; k <= cols - Vec.L; k += Vec.L) {
          FloatVector v = FloatVector.fromArray(Vec.S, a.f, o + k).mul(r);
          v.intoArray(a.f, o + k);
          if (sums) FloatVector.fromArray(Vec.S, inv, cols + k).add(v).intoArray(inv, cols + k);
        }
        for (; k < cols; k++) {
          a.f[o + k] *= r;
          if (sums) inv[cols + k] += a.f[o + k];
        }
      }
      if (sums && next != null) System.arraycopy(inv, cols, next.f, next.off + co, cols);
    } else {
      double[] nextSum = rowD(chunk, cols);
      if (sums) java.util.Arrays.fill(nextSum, 0, cols, 0);
      for (int s = s0; s < s1; s++) {
        int o = a.off + (p * samples + s) * cols;
        double rowSum = 0;
        for (int k = 0; k < cols; k++) rowSum += a.d[o + k] /= cs.d[cs.off + co + k] + eps;
        double den = rowSum + eps;
        for (int k = 0; k < cols; k++) {
          a.d[o + k] /= den;
          if (sums) nextSum[k] += a.d[o + k];
        }
      }
      if (sums && next != null) System.arraycopy(nextSum, 0, next.d, next.off + co, cols);
    }
  }

  /** next[p, :] ← Σ over samples of x[p, s, :], columns split over threads. */
  private void columnSums(CpuTensor a, int p, int samples, int cols, CpuTensor next) {
    team.run(cols, COLUMN_BLOCK, (lo, hi, c) -> {
      for (int k = lo; k < hi; k++) {
        double s = 0;
        for (int r = 0; r < samples; r++) s += a.get((long) (p * samples + r) * cols + k);
        next.set((long) p * cols + k, s);
      }
    });
  }

  // ---- optimisation -------------------------------------------------------------------------------

  @Override
  public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd, double beta1,
      double beta2, double eps, long step, Tensor teacher, double momentum) {
    same(p, g, m, v, teacher);
    CpuTensor ps = t(p), gs = t(g), ms = t(m), vs = t(v), ts = teacher == null ? null : t(teacher);
    if (segments.length < 2) return;
    int end = (int) segments[segments.length - 1], tLen = ts == null ? 0 : ts.len;
    double bc1 = 1 - Math.pow(beta1, step), bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
    team.run(Math.max(end, tLen), ELEMENT_GRAIN, (from, to, c) -> {
      for (int seg = 0; seg + 1 < segments.length; seg++) {
        int s0 = Math.max(from, (int) segments[seg]), s1 = Math.min(to, (int) segments[seg + 1]);
        if (s0 >= s1) continue;
        double stepSize = lr[seg] / bc1, decay = 1 - lr[seg] * wd[seg];
        if (ps.f != null) {
          adamwF(ps, gs, ms, vs, s0, s1, (float) stepSize, (float) decay, (float) beta1, (float) beta2, (float) bc2Sqrt,
              (float) eps);
        } else {
          for (int i = s0; i < s1; i++) {
            double gi = gs.d[gs.off + i];
            double mi = ms.d[ms.off + i] = beta1 * ms.d[ms.off + i] + (1 - beta1) * gi;
            double vi = vs.d[vs.off + i] = beta2 * vs.d[vs.off + i] + (1 - beta2) * gi * gi;
            ps.d[ps.off + i] = ps.d[ps.off + i] * decay - stepSize * mi / (Math.sqrt(vi) / bc2Sqrt + eps);
          }
        }
      }
      // the EMA of the teacher with the updated values
      int e1 = Math.min(to, tLen);
      if (ts != null && from < e1) {
        if (ps.f != null) {
          float mo = (float) momentum;
          int i = from;
          for (; i <= e1 - Vec.L; i += Vec.L) {
            FloatVector pv = FloatVector.fromArray(Vec.S, ps.f, ps.off + i);
            FloatVector.fromArray(Vec.S, ts.f, ts.off + i).sub(pv).mul(mo).add(pv).intoArray(ts.f, ts.off + i);
          }
          for (; i < e1; i++) ts.f[ts.off + i] = ps.f[ps.off + i] + mo * (ts.f[ts.off + i] - ps.f[ps.off + i]);
        } else {
          for (int i = from; i < e1; i++) ts.d[ts.off + i] = ps.d[ps.off + i] + momentum * (ts.d[ts.off + i] - ps.d[ps.off + i]);
        }
      }
    });
  }

  private static void adamwF(CpuTensor ps, CpuTensor gs, CpuTensor ms, CpuTensor vs, int s0, int s1, float stepSize,
      float decay, float beta1, float beta2, float bc2Sqrt, float eps) {
    float b1 = 1 - beta1, b2 = 1 - beta2;
    int i = s0;
    for (; i <= s1 - Vec.L; i += Vec.L) {
      FloatVector gv = FloatVector.fromArray(Vec.S, gs.f, gs.off + i);
      FloatVector mv = FloatVector.fromArray(Vec.S, ms.f, ms.off + i).mul(beta1).add(gv.mul(b1));
      FloatVector vv = FloatVector.fromArray(Vec.S, vs.f, vs.off + i).mul(beta2).add(gv.mul(gv).mul(b2));
      mv.intoArray(ms.f, ms.off + i);
      vv.intoArray(vs.f, vs.off + i);
      FloatVector denom = vv.lanewise(VectorOperators.SQRT).div(bc2Sqrt).add(eps);
      FloatVector.fromArray(Vec.S, ps.f, ps.off + i).mul(decay).sub(mv.mul(stepSize).div(denom)).intoArray(ps.f, ps.off + i);
    }
    for (; i < s1; i++) {
      float gi = gs.f[gs.off + i];
      float mi = ms.f[ms.off + i] = beta1 * ms.f[ms.off + i] + b1 * gi;
      float vi = vs.f[vs.off + i] = beta2 * vs.f[vs.off + i] + b2 * gi * gi;
      ps.f[ps.off + i] = ps.f[ps.off + i] * decay - stepSize * mi / ((float) Math.sqrt(vi) / bc2Sqrt + eps);
    }
  }

  @Override
  public void close() {
    team.close();
  }
}
