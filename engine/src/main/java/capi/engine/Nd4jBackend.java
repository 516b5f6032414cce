package capi.engine;

import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The CPU backend: memory allocated (and freed deterministically) by ND4J, matrix products by
 * the OpenBLAS that ND4J bundles, everything else as plain Java loops over the native memory,
 * which beats many small ND4J op calls at these sizes.
 */
public final class Nd4jBackend implements Backend {
  private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
  private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
  private static final int TRANS = openblas_nolapack.CblasTrans;

  private final Precision precision;

  /** @param threads OpenBLAS threads (the process-wide setting of the bundled BLAS) */
  public Nd4jBackend(Precision precision, int threads) {
    this.precision = precision;
    Nd4j.factory().blas().setMaxThreads(threads);
  }

  /** A tensor: a window [off, off + len) of ND4J-owned native memory. */
  static final class Buf implements Tensor {
    final INDArray owner; // null for a view
    final FloatBuffer f; // exactly one of f, d is set
    final DoubleBuffer d;
    final FloatPointer fp;
    final DoublePointer dp;
    final int off;
    final int len;

    Buf(INDArray owner, FloatBuffer f, DoubleBuffer d, FloatPointer fp, DoublePointer dp, int off, int len) {
      this.owner = owner;
      this.f = f;
      this.d = d;
      this.fp = fp;
      this.dp = dp;
      this.off = off;
      this.len = len;
    }

    @Override
    public long length() {
      return len;
    }

    double get(int i) {
      return f != null ? f.get(off + i) : d.get(off + i);
    }

    void set(int i, double v) {
      if (f != null) f.put(off + i, (float) v);
      else d.put(off + i, v);
    }

    void add(int i, double v) {
      set(i, get(i) + v);
    }
  }

  private static Buf b(Tensor t) {
    return (Buf) t;
  }

  @Override
  public Precision precision() {
    return precision;
  }

  @Override
  public Tensor allocate(long length) {
    if (length > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("tensor too large: " + length);
    int n = (int) Math.max(length, 1);
    DataType type = precision == Precision.FLOAT32 ? DataType.FLOAT : DataType.DOUBLE;
    INDArray arr = Nd4j.createUninitializedDetached(type, n);
    Buf t;
    if (precision == Precision.FLOAT32) {
      FloatBuffer f = arr.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
      t = new Buf(arr, f, null, new FloatPointer(arr.data().addressPointer()), null, 0, (int) length);
    } else {
      DoubleBuffer d = arr.data().asNio().order(ByteOrder.nativeOrder()).asDoubleBuffer();
      t = new Buf(arr, null, d, null, new DoublePointer(arr.data().addressPointer()), 0, (int) length);
    }
    fill(t, 0);
    return t;
  }

  @Override
  public Tensor view(Tensor t, long offset, long length) {
    Buf p = b(t);
    if (offset < 0 || offset + length > p.len) {
      throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + length) + ") of " + p.len);
    }
    return new Buf(null, p.f, p.d, p.fp, p.dp, p.off + (int) offset, (int) length);
  }

  @Override
  public void free(Tensor t) {
    if (t != null && b(t).owner != null) b(t).owner.close();
  }

  @Override
  public void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    Buf t = b(dst);
    for (int i = 0; i < n; i++) t.set((int) dstOffset + i, src[srcOffset + i]);
  }

  @Override
  public void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    Buf t = b(dst);
    for (int i = 0; i < n; i++) t.set((int) dstOffset + i, src[srcOffset + i]);
  }

  @Override
  public void download(Tensor src, long srcOffset, double[] dst, int dstOffset, int n) {
    Buf t = b(src);
    for (int i = 0; i < n; i++) dst[dstOffset + i] = t.get((int) srcOffset + i);
  }

  @Override
  public void download(Tensor src, long srcOffset, float[] dst, int dstOffset, int n) {
    Buf t = b(src);
    for (int i = 0; i < n; i++) dst[dstOffset + i] = (float) t.get((int) srcOffset + i);
  }

  @Override
  public void download(Tensor src, FloatBuffer dst) {
    Buf t = b(src);
    for (int i = 0; i < t.len; i++) dst.put(i, (float) t.get(i));
  }

  @Override
  public void upload(FloatBuffer src, Tensor dst) {
    Buf t = b(dst);
    for (int i = 0; i < t.len; i++) t.set(i, src.get(i));
  }

  @Override
  public void fill(Tensor t, double value) {
    Buf x = b(t);
    for (int i = 0; i < x.len; i++) x.set(i, value);
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    Buf s = b(src), d = b(dst);
    if (s.len != d.len) throw new IllegalArgumentException("copy of " + s.len + " into " + d.len);
    for (int i = 0; i < s.len; i++) d.set(i, s.get(i));
  }

  @Override
  public void axpy(double a, Tensor x, Tensor y) {
    Buf xs = b(x), ys = b(y);
    for (int i = 0; i < xs.len; i++) ys.set(i, ys.get(i) + a * xs.get(i));
  }

  @Override
  public void scale(Tensor x, double a) {
    Buf xs = b(x);
    for (int i = 0; i < xs.len; i++) xs.set(i, a * xs.get(i));
  }

  @Override
  public double sumSquares(Tensor x) {
    Buf xs = b(x);
    double s = 0;
    for (int i = 0; i < xs.len; i++) s += xs.get(i) * xs.get(i);
    return s;
  }

  @Override
  public long checksum(Tensor x) {
    Buf xs = b(x);
    long h = 1125899906842597L;
    for (int i = 0; i < xs.len; i++) {
      long bits = xs.f != null ? Float.floatToRawIntBits(xs.f.get(xs.off + i)) : Double.doubleToRawLongBits(xs.d.get(xs.off + i));
      h = 31 * h + bits;
    }
    return h;
  }

  @Override
  public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
      Tensor a, long aOffset, int lda, Tensor b, long bOffset, int ldb, double beta,
      Tensor c, long cOffset, int ldc, int batch, long strideA, long strideB, long strideC) {
    Buf ab = b(a), bb = b(b), cb = b(c);
    int ta = transA ? TRANS : NO_TRANS, tb = transB ? TRANS : NO_TRANS;
    if (precision == Precision.FLOAT32) {
      FloatPointer pa = new FloatPointer(ab.fp), pb = new FloatPointer(bb.fp), pc = new FloatPointer(cb.fp);
      for (int i = 0; i < batch; i++) {
        pa.position(ab.off + aOffset + i * strideA);
        pb.position(bb.off + bOffset + i * strideB);
        pc.position(cb.off + cOffset + i * strideC);
        openblas_nolapack.cblas_sgemm(ROW_MAJOR, ta, tb, m, n, k, (float) alpha, pa, lda, pb, ldb, (float) beta, pc, ldc);
      }
    } else {
      DoublePointer pa = new DoublePointer(ab.dp), pb = new DoublePointer(bb.dp), pc = new DoublePointer(cb.dp);
      for (int i = 0; i < batch; i++) {
        pa.position(ab.off + aOffset + i * strideA);
        pb.position(bb.off + bOffset + i * strideB);
        pc.position(cb.off + cOffset + i * strideC);
        openblas_nolapack.cblas_dgemm(ROW_MAJOR, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
      }
    }
  }

  @Override
  public void addRowVector(Tensor x, int rows, int cols, Tensor v) {
    Buf xs = b(x), vs = b(v);
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) xs.add(r * cols + c, vs.get(c));
    }
  }

  @Override
  public void sumRows(Tensor x, int rows, int cols, Tensor out) {
    Buf xs = b(x), o = b(out);
    double[] acc = new double[cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) acc[c] += xs.get(r * cols + c);
    }
    for (int c = 0; c < cols; c++) o.add(c, acc[c]);
  }

  @Override
  public void gatherRows(Tensor src, int[] index, int cols, Tensor dst) {
    Buf s = b(src), d = b(dst);
    for (int i = 0; i < index.length; i++) {
      int from = index[i] * cols, to = i * cols;
      for (int c = 0; c < cols; c++) d.set(to + c, s.get(from + c));
    }
  }

  @Override
  public void scatterAddRows(Tensor src, int[] index, int cols, double alpha, Tensor dst) {
    Buf s = b(src), d = b(dst);
    for (int i = 0; i < index.length; i++) {
      int from = i * cols, to = index[i] * cols;
      for (int c = 0; c < cols; c++) d.add(to + c, alpha * s.get(from + c));
    }
  }

  @Override
  public void patchify(Tensor images, int channels, int height, int width, int patch, int[] index, Tensor dst) {
    Buf im = b(images), d = b(dst);
    int gw = width / patch, perImage = (height / patch) * gw, cols = channels * patch * patch;
    for (int r = 0; r < index.length; r++) {
      int img = index[r] / perImage, n = index[r] % perImage;
      int y0 = (n / gw) * patch, x0 = (n % gw) * patch;
      int o = r * cols;
      for (int c = 0; c < channels; c++) {
        int base = (img * channels + c) * height * width;
        for (int i = 0; i < patch; i++) {
          for (int j = 0; j < patch; j++) d.set(o++, im.get(base + (y0 + i) * width + x0 + j));
        }
      }
    }
  }

  @Override
  public void rmsNorm(Tensor x, Tensor w, int rows, int cols, double eps, Tensor y, Tensor rstd) {
    Buf xs = b(x), ws = w == null ? null : b(w), ys = b(y), rs = b(rstd);
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double ss = 0;
      for (int c = 0; c < cols; c++) ss += xs.get(o + c) * xs.get(o + c);
      double inv = 1 / Math.sqrt(ss / cols + eps);
      rs.set(r, inv);
      for (int c = 0; c < cols; c++) ys.set(o + c, xs.get(o + c) * inv * (ws == null ? 1 : ws.get(c)));
    }
  }

  @Override
  public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, int rows, int cols, Tensor dx, Tensor dw) {
    Buf xs = b(x), ws = w == null ? null : b(w), rs = b(rstd), dys = b(dy), dxs = b(dx);
    double[] dwAcc = w == null ? null : new double[cols];
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double inv = rs.get(r);
      double dot = 0; // Σ (dy·w)·x
      for (int c = 0; c < cols; c++) {
        double g = dys.get(o + c) * (ws == null ? 1 : ws.get(c));
        dot += g * xs.get(o + c);
        if (dwAcc != null) dwAcc[c] += dys.get(o + c) * xs.get(o + c) * inv;
      }
      double k = inv * inv * inv * dot / cols;
      for (int c = 0; c < cols; c++) {
        double g = dys.get(o + c) * (ws == null ? 1 : ws.get(c));
        dxs.add(o + c, g * inv - k * xs.get(o + c));
      }
    }
    if (dwAcc != null) {
      Buf dws = b(dw);
      for (int c = 0; c < cols; c++) dws.add(c, dwAcc[c]);
    }
  }

  @Override
  public void l2Normalize(Tensor x, int rows, int cols, double eps, Tensor y, Tensor norm) {
    Buf xs = b(x), ys = b(y), ns = b(norm);
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double ss = 0;
      for (int c = 0; c < cols; c++) ss += xs.get(o + c) * xs.get(o + c);
      double nrm = Math.sqrt(ss);
      ns.set(r, nrm);
      double inv = 1 / Math.max(nrm, eps);
      for (int c = 0; c < cols; c++) ys.set(o + c, xs.get(o + c) * inv);
    }
  }

  @Override
  public void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, int rows, int cols, double eps, Tensor dx) {
    Buf ys = b(y), ns = b(norm), dys = b(dy), dxs = b(dx);
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double nrm = ns.get(r);
      if (nrm > eps) {
        double dot = 0;
        for (int c = 0; c < cols; c++) dot += ys.get(o + c) * dys.get(o + c);
        for (int c = 0; c < cols; c++) dxs.set(o + c, (dys.get(o + c) - ys.get(o + c) * dot) / nrm);
      } else {
        for (int c = 0; c < cols; c++) dxs.set(o + c, dys.get(o + c) / eps);
      }
    }
  }

  @Override
  public void weightNorm(Tensor v, Tensor g, int rows, int cols, Tensor w, Tensor norms) {
    Buf vs = b(v), gs = b(g), ws = b(w), ns = b(norms);
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double ss = 0;
      for (int c = 0; c < cols; c++) ss += vs.get(o + c) * vs.get(o + c);
      double nrm = Math.sqrt(ss);
      ns.set(r, nrm);
      double s = gs.get(r) / (nrm + 1e-8);
      for (int c = 0; c < cols; c++) ws.set(o + c, vs.get(o + c) * s);
    }
  }

  @Override
  public void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, int rows, int cols, Tensor dv, Tensor dg) {
    Buf vs = b(v), gs = b(g), ns = b(norms), dws = b(dw), dvs = b(dv), dgs = b(dg);
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double nrm = ns.get(r), den = nrm + 1e-8;
      double dot = 0; // Σ dw·v
      for (int c = 0; c < cols; c++) dot += dws.get(o + c) * vs.get(o + c);
      dgs.add(r, dot / den);
      double gr = gs.get(r);
      double k = nrm > 0 ? gr * dot / (den * den * nrm) : 0;
      for (int c = 0; c < cols; c++) dvs.add(o + c, gr / den * dws.get(o + c) - k * vs.get(o + c));
    }
  }

  @Override
  public void gelu(Tensor x, Tensor y) {
    Buf xs = b(x), ys = b(y);
    boolean precise = precision == Precision.FLOAT64;
    for (int i = 0; i < xs.len; i++) {
      double v = xs.get(i);
      double e = precise ? Erf.precise(v * SQRT_HALF) : Erf.fast(v * SQRT_HALF);
      ys.set(i, 0.5 * v * (1 + e));
    }
  }

  private static final double SQRT_HALF = Math.sqrt(0.5);
  private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

  @Override
  public void geluBackward(Tensor x, Tensor dy, Tensor dx) {
    Buf xs = b(x), dys = b(dy), dxs = b(dx);
    boolean precise = precision == Precision.FLOAT64;
    for (int i = 0; i < xs.len; i++) {
      double v = xs.get(i);
      double e = precise ? Erf.precise(v * SQRT_HALF) : Erf.fast(v * SQRT_HALF);
      double cdf = 0.5 * (1 + e);
      double pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
      dxs.set(i, dys.get(i) * (cdf + v * pdf));
    }
  }

  @Override
  public void ropeTables(Tensor coords, Tensor freqs, int rows, int headDim, Tensor cos, Tensor sin) {
    Buf cs = b(coords), fs = b(freqs), co = b(cos), si = b(sin);
    for (int r = 0; r < rows; r++) {
      double y = cs.get(2 * r), x = cs.get(2 * r + 1);
      for (int c = 0; c < headDim; c++) {
        double angle = y * fs.get(c) + x * fs.get(headDim + c);
        co.set(r * headDim + c, Math.cos(angle));
        si.set(r * headDim + c, Math.sin(angle));
      }
    }
  }

  @Override
  public void rope(Tensor x, Tensor cos, Tensor sin, int rows, int heads, int headDim, boolean transpose) {
    Buf xs = b(x), co = b(cos), si = b(sin);
    int half = headDim / 2, width = heads * headDim;
    for (int r = 0; r < rows; r++) {
      int t = r * headDim;
      for (int h = 0; h < heads; h++) {
        int o = r * width + h * headDim;
        for (int c = 0; c < half; c++) {
          double x1 = xs.get(o + c), x2 = xs.get(o + c + half);
          double c1 = co.get(t + c), c2 = co.get(t + c + half), s1 = si.get(t + c), s2 = si.get(t + c + half);
          if (!transpose) {
            xs.set(o + c, x1 * c1 - x2 * s1);
            xs.set(o + c + half, x2 * c2 + x1 * s2);
          } else {
            xs.set(o + c, x1 * c1 + x2 * s2);
            xs.set(o + c + half, x2 * c2 - x1 * s1);
          }
        }
      }
    }
  }

  @Override
  public void softmaxRows(Tensor x, int rows, int cols) {
    Buf xs = b(x);
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < cols; c++) max = Math.max(max, xs.get(o + c));
      double sum = 0;
      for (int c = 0; c < cols; c++) {
        double e = Math.exp(xs.get(o + c) - max);
        xs.set(o + c, e);
        sum += e;
      }
      double inv = 1 / sum;
      for (int c = 0; c < cols; c++) xs.set(o + c, xs.get(o + c) * inv);
    }
  }

  @Override
  public void softmaxRowsBackward(Tensor p, Tensor dp, int rows, int cols) {
    Buf ps = b(p), ds = b(dp);
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double dot = 0;
      for (int c = 0; c < cols; c++) dot += ps.get(o + c) * ds.get(o + c);
      for (int c = 0; c < cols; c++) ds.set(o + c, ps.get(o + c) * (ds.get(o + c) - dot));
    }
  }

  @Override
  public double softTargetCrossEntropy(Tensor z, Tensor t, int rows, int cols, double temp, Tensor dz, double gradScale) {
    Buf zs = b(z), ts = b(t), ds = dz == null ? null : b(dz);
    double total = 0;
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < cols; c++) max = Math.max(max, zs.get(o + c) / temp);
      double sum = 0;
      for (int c = 0; c < cols; c++) sum += Math.exp(zs.get(o + c) / temp - max);
      double logZ = max + Math.log(sum);
      double loss = 0;
      for (int c = 0; c < cols; c++) {
        double logp = zs.get(o + c) / temp - logZ;
        double tc = ts.get(o + c);
        loss -= tc * logp;
        if (ds != null) ds.set(o + c, gradScale * (Math.exp(logp) - tc) / temp);
      }
      total += loss;
    }
    return total;
  }

  @Override
  public double entropyRows(Tensor p, int rows, int cols) {
    Buf ps = b(p);
    double total = 0;
    for (int i = 0; i < rows * cols; i++) {
      double v = ps.get(i);
      if (v > 0) total -= v * Math.log(v);
    }
    return total;
  }

  @Override
  public void columnMax(Tensor x, int problems, int samples, int cols, Tensor out) {
    Buf xs = b(x), os = b(out);
    for (int p = 0; p < problems; p++) {
      for (int k = 0; k < cols; k++) os.set(p * cols + k, Double.NEGATIVE_INFINITY);
      for (int s = 0; s < samples; s++) {
        int o = (p * samples + s) * cols;
        for (int k = 0; k < cols; k++) os.set(p * cols + k, Math.max(os.get(p * cols + k), xs.get(o + k)));
      }
    }
  }

  @Override
  public void columnSum(Tensor x, int problems, int samples, int cols, Tensor out) {
    Buf xs = b(x), os = b(out);
    double[] acc = new double[cols];
    for (int p = 0; p < problems; p++) {
      java.util.Arrays.fill(acc, 0);
      for (int s = 0; s < samples; s++) {
        int o = (p * samples + s) * cols;
        for (int k = 0; k < cols; k++) acc[k] += xs.get(o + k);
      }
      for (int k = 0; k < cols; k++) os.set(p * cols + k, acc[k]);
    }
  }

  @Override
  public void expShifted(Tensor x, Tensor shift, int problems, int samples, int cols, double offset) {
    Buf xs = b(x), ss = b(shift);
    for (int p = 0; p < problems; p++) {
      for (int s = 0; s < samples; s++) {
        int o = (p * samples + s) * cols;
        for (int k = 0; k < cols; k++) xs.set(o + k, Math.exp(xs.get(o + k) - ss.get(p * cols + k) + offset));
      }
    }
  }

  @Override
  public void divideColumns(Tensor x, Tensor colsum, int problems, int samples, int cols, double eps) {
    Buf xs = b(x), cs = b(colsum);
    for (int p = 0; p < problems; p++) {
      for (int s = 0; s < samples; s++) {
        int o = (p * samples + s) * cols;
        for (int k = 0; k < cols; k++) xs.set(o + k, xs.get(o + k) / (cs.get(p * cols + k) + eps));
      }
    }
  }

  @Override
  public void normalizeRows(Tensor x, int rows, int cols, double eps) {
    Buf xs = b(x);
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double sum = 0;
      for (int c = 0; c < cols; c++) sum += xs.get(o + c);
      double den = sum + eps;
      for (int c = 0; c < cols; c++) xs.set(o + c, xs.get(o + c) / den);
    }
  }

  @Override
  public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd,
      double beta1, double beta2, double eps, long t) {
    Buf ps = b(p), gs = b(g), ms = b(m), vs = b(v);
    double bc1 = 1 - Math.pow(beta1, t), bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
    for (int s = 0; s + 1 < segments.length; s++) {
      double step = lr[s] / bc1, decay = 1 - lr[s] * wd[s];
      for (int i = (int) segments[s]; i < segments[s + 1]; i++) {
        double gi = gs.get(i);
        double mi = beta1 * ms.get(i) + (1 - beta1) * gi;
        double vi = beta2 * vs.get(i) + (1 - beta2) * gi * gi;
        ms.set(i, mi);
        vs.set(i, vi);
        ps.set(i, ps.get(i) * decay - step * mi / (Math.sqrt(vi) / bc2Sqrt + eps));
      }
    }
  }

  @Override
  public void ema(Tensor teacher, Tensor student, double momentum) {
    Buf ts = b(teacher), ss = b(student);
    for (int i = 0; i < ts.len; i++) ts.set(i, momentum * ts.get(i) + (1 - momentum) * ss.get(i));
  }

  @Override
  public void close() {}
}
