package capi.engine;

import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The CPU backend: memory allocated (and freed deterministically) by ND4J, matrix products by the
 * OpenBLAS that ND4J bundles, everything else as plain Java loops, which beat many small ND4J op
 * calls at these sizes. Loops move whole rows between the native memory and per-thread float64
 * scratch arrays in bulk (one code path for both precisions, arithmetic in float64) and split
 * independent rows over `threads` threads; reductions combine fixed chunks in order, so results
 * do not depend on scheduling.
 */
public final class Nd4jBackend implements Backend {
  private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
  private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
  private static final int TRANS = openblas_nolapack.CblasTrans;
  private static final double SQRT_HALF = Math.sqrt(0.5);
  private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
  private static final int CHUNK = 4096; // elements per scratch chunk of element-wise loops

  private final Precision precision;
  private final int threads;
  private final ForkJoinPool pool; // null with one thread
  private final java.util.concurrent.atomic.AtomicLong live = new java.util.concurrent.atomic.AtomicLong();

  /** @param threads OpenBLAS threads (a process-wide setting) and threads of the Java loops */
  public Nd4jBackend(Precision precision, int threads) {
    this.precision = precision;
    this.threads = Math.max(1, threads);
    this.pool = this.threads > 1 ? new ForkJoinPool(this.threads) : null;
    Nd4j.factory().blas().setMaxThreads(this.threads);
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

    /** dst[dOff, dOff + n) ← this[i, i + n). */
    void read(int i, double[] dst, int dOff, int n, Scratch s) {
      if (f != null) {
        float[] tmp = s.floats(n);
        f.get(off + i, tmp, 0, n);
        for (int k = 0; k < n; k++) dst[dOff + k] = tmp[k];
      } else {
        d.get(off + i, dst, dOff, n);
      }
    }

    /** this[i, i + n) ← src[sOff, sOff + n). */
    void write(int i, double[] src, int sOff, int n, Scratch s) {
      if (f != null) {
        float[] tmp = s.floats(n);
        for (int k = 0; k < n; k++) tmp[k] = (float) src[sOff + k];
        f.put(off + i, tmp, 0, n);
      } else {
        d.put(off + i, src, sOff, n);
      }
    }

    double get(int i) {
      return f != null ? f.get(off + i) : d.get(off + i);
    }

    void set(int i, double v) {
      if (f != null) f.put(off + i, (float) v);
      else d.put(off + i, v);
    }
  }

  /** Per-thread scratch rows. */
  static final class Scratch {
    private float[] f = new float[0];
    private final double[][] rows = {new double[0], new double[0], new double[0], new double[0]};

    float[] floats(int n) {
      if (f.length < n) f = new float[n];
      return f;
    }

    /** Scratch row `which` (0..3) of at least n elements. */
    double[] row(int which, int n) {
      if (rows[which].length < n) rows[which] = new double[n];
      return rows[which];
    }
  }

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  /** A loop body over items [lo, hi), returning a partial sum (0 when there is nothing to sum). */
  private interface Range {
    double run(int lo, int hi, Scratch s);
  }

  /** Runs body over [0, n) in `threads` contiguous chunks of at least minPerTask items; the sum of the partials in chunk order. */
  private double parallel(int n, int minPerTask, Range body) {
    int tasks = pool == null ? 1 : Math.min(threads, Math.max(1, n / Math.max(1, minPerTask)));
    if (tasks <= 1) return body.run(0, n, SCRATCH.get());
    List<Callable<Double>> parts = new ArrayList<>(tasks);
    for (int t = 0; t < tasks; t++) {
      int lo = (int) ((long) n * t / tasks), hi = (int) ((long) n * (t + 1) / tasks);
      parts.add(() -> body.run(lo, hi, SCRATCH.get()));
    }
    double sum = 0;
    try {
      for (Future<Double> f : pool.invokeAll(parts)) sum += f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
    return sum;
  }

  /** Element-wise loop over n elements in scratch-sized chunks. */
  private double elementwise(int n, Range chunkBody) {
    int chunks = (n + CHUNK - 1) / CHUNK;
    return parallel(chunks, 4, (lo, hi, s) -> {
      double sum = 0;
      for (int c = lo; c < hi; c++) sum += chunkBody.run(c * CHUNK, Math.min(n, (c + 1) * CHUNK), s);
      return sum;
    });
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
    live.addAndGet(bytes(n));
    return t;
  }

  private long bytes(long n) {
    return n * (precision == Precision.FLOAT32 ? 4 : 8);
  }

  @Override
  public long allocatedBytes() {
    return live.get();
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
    if (t != null && b(t).owner != null) {
      live.addAndGet(-bytes(b(t).owner.length()));
      b(t).owner.close();
    }
  }

  // ---- transfers ----------------------------------------------------------------------------------

  @Override
  public void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    b(dst).write((int) dstOffset, src, srcOffset, n, SCRATCH.get());
  }

  @Override
  public void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    Buf t = b(dst);
    if (t.f != null) {
      t.f.put(t.off + (int) dstOffset, src, srcOffset, n);
    } else {
      for (int i = 0; i < n; i++) t.d.put(t.off + (int) dstOffset + i, src[srcOffset + i]);
    }
  }

  @Override
  public void download(Tensor src, long srcOffset, double[] dst, int dstOffset, int n) {
    b(src).read((int) srcOffset, dst, dstOffset, n, SCRATCH.get());
  }

  @Override
  public void download(Tensor src, long srcOffset, float[] dst, int dstOffset, int n) {
    Buf t = b(src);
    if (t.f != null) {
      t.f.get(t.off + (int) srcOffset, dst, dstOffset, n);
    } else {
      for (int i = 0; i < n; i++) dst[dstOffset + i] = (float) t.d.get(t.off + (int) srcOffset + i);
    }
  }

  @Override
  public void download(Tensor src, FloatBuffer dst) {
    Buf t = b(src);
    elementwise(t.len, (lo, hi, s) -> {
      float[] tmp = new float[hi - lo];
      download(t, lo, tmp, 0, hi - lo);
      dst.put(lo, tmp, 0, hi - lo);
      return 0;
    });
  }

  @Override
  public void upload(FloatBuffer src, Tensor dst) {
    Buf t = b(dst);
    elementwise(t.len, (lo, hi, s) -> {
      float[] tmp = new float[hi - lo];
      src.get(lo, tmp, 0, hi - lo);
      upload(tmp, 0, t, lo, hi - lo);
      return 0;
    });
  }

  // ---- element-wise -------------------------------------------------------------------------------

  @Override
  public void fill(Tensor t, double value) {
    Buf x = b(t);
    elementwise(x.len, (lo, hi, s) -> {
      double[] a = s.row(0, hi - lo);
      java.util.Arrays.fill(a, 0, hi - lo, value);
      x.write(lo, a, 0, hi - lo, s);
      return 0;
    });
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    Buf sb = b(src), db = b(dst);
    if (sb.len != db.len) throw new IllegalArgumentException("copy of " + sb.len + " into " + db.len);
    elementwise(sb.len, (lo, hi, s) -> {
      double[] a = s.row(0, hi - lo);
      sb.read(lo, a, 0, hi - lo, s);
      db.write(lo, a, 0, hi - lo, s);
      return 0;
    });
  }

  @Override
  public void axpy(double alpha, Tensor x, Tensor y) {
    Buf xs = b(x), ys = b(y);
    elementwise(xs.len, (lo, hi, s) -> {
      int n = hi - lo;
      double[] a = s.row(0, n), c = s.row(1, n);
      xs.read(lo, a, 0, n, s);
      ys.read(lo, c, 0, n, s);
      for (int i = 0; i < n; i++) c[i] += alpha * a[i];
      ys.write(lo, c, 0, n, s);
      return 0;
    });
  }

  @Override
  public void scale(Tensor x, double alpha) {
    Buf xs = b(x);
    elementwise(xs.len, (lo, hi, s) -> {
      int n = hi - lo;
      double[] a = s.row(0, n);
      xs.read(lo, a, 0, n, s);
      for (int i = 0; i < n; i++) a[i] *= alpha;
      xs.write(lo, a, 0, n, s);
      return 0;
    });
  }

  @Override
  public double sumSquares(Tensor x) {
    Buf xs = b(x);
    return elementwise(xs.len, (lo, hi, s) -> {
      int n = hi - lo;
      double[] a = s.row(0, n);
      xs.read(lo, a, 0, n, s);
      double sum = 0;
      for (int i = 0; i < n; i++) sum += a[i] * a[i];
      return sum;
    });
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

  // ---- matrix products ------------------------------------------------------------------------------

  @Override
  public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
      Tensor a, long aOffset, int lda, Tensor b, long bOffset, int ldb, double beta,
      Tensor c, long cOffset, int ldc, int batch, long strideA, long strideB, long strideC) {
    if (batch > 1 && pool != null) {
      // many small products (attention heads): OpenBLAS runs each on one thread, so split the batch
      parallel(batch, 1, (lo, hi, s) -> {
        gemmSerial(transA, transB, m, n, k, alpha, a, aOffset + lo * strideA, lda, b, bOffset + lo * strideB, ldb, beta,
            c, cOffset + lo * strideC, ldc, hi - lo, strideA, strideB, strideC);
        return 0;
      });
      return;
    }
    gemmSerial(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc, batch, strideA,
        strideB, strideC);
  }

  /** The batch loop of {@link #gemm} on the calling thread. */
  private void gemmSerial(boolean transA, boolean transB, int m, int n, int k, double alpha,
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

  // ---- rows ---------------------------------------------------------------------------------------

  @Override
  public void addRowVector(Tensor x, int rows, int cols, Tensor v) {
    Buf xs = b(x), vs = b(v);
    double[] vec = new double[cols];
    vs.read(0, vec, 0, cols, SCRATCH.get());
    parallel(rows, 16, (lo, hi, s) -> {
      double[] a = s.row(0, cols);
      for (int r = lo; r < hi; r++) {
        xs.read(r * cols, a, 0, cols, s);
        for (int c = 0; c < cols; c++) a[c] += vec[c];
        xs.write(r * cols, a, 0, cols, s);
      }
      return 0;
    });
  }

  @Override
  public void sumRows(Tensor x, int rows, int cols, Tensor out) {
    Buf xs = b(x), o = b(out);
    Scratch s = SCRATCH.get();
    double[] acc = new double[cols], a = s.row(0, cols);
    for (int r = 0; r < rows; r++) {
      xs.read(r * cols, a, 0, cols, s);
      for (int c = 0; c < cols; c++) acc[c] += a[c];
    }
    o.read(0, a, 0, cols, s);
    for (int c = 0; c < cols; c++) acc[c] += a[c];
    o.write(0, acc, 0, cols, s);
  }

  @Override
  public void gatherRows(Tensor src, int[] index, int cols, Tensor dst) {
    Buf sb = b(src), db = b(dst);
    parallel(index.length, 16, (lo, hi, s) -> {
      double[] a = s.row(0, cols);
      for (int i = lo; i < hi; i++) {
        sb.read(index[i] * cols, a, 0, cols, s);
        db.write(i * cols, a, 0, cols, s);
      }
      return 0;
    });
  }

  @Override
  public void scatterAddRows(Tensor src, int[] index, int cols, double alpha, Tensor dst) {
    Buf sb = b(src), db = b(dst);
    Scratch s = SCRATCH.get(); // serial: several source rows may add into the same row
    double[] a = s.row(0, cols), c = s.row(1, cols);
    for (int i = 0; i < index.length; i++) {
      sb.read(i * cols, a, 0, cols, s);
      db.read(index[i] * cols, c, 0, cols, s);
      for (int k = 0; k < cols; k++) c[k] += alpha * a[k];
      db.write(index[i] * cols, c, 0, cols, s);
    }
  }

  @Override
  public void patchify(Tensor images, int channels, int height, int width, int patch, int[] index, Tensor dst) {
    Buf im = b(images), d = b(dst);
    int gw = width / patch, perImage = (height / patch) * gw, cols = channels * patch * patch;
    parallel(index.length, 16, (lo, hi, s) -> {
      double[] row = s.row(0, cols), line = s.row(1, patch);
      for (int r = lo; r < hi; r++) {
        int img = index[r] / perImage, n = index[r] % perImage;
        int y0 = (n / gw) * patch, x0 = (n % gw) * patch;
        int o = 0;
        for (int c = 0; c < channels; c++) {
          int base = (img * channels + c) * height * width;
          for (int i = 0; i < patch; i++) {
            im.read(base + (y0 + i) * width + x0, line, 0, patch, s);
            System.arraycopy(line, 0, row, o, patch);
            o += patch;
          }
        }
        d.write(r * cols, row, 0, cols, s);
      }
      return 0;
    });
  }

  // ---- normalisations -------------------------------------------------------------------------------

  @Override
  public void rmsNorm(Tensor x, Tensor w, int rows, int cols, double eps, Tensor y, Tensor rstd) {
    Buf xs = b(x), ys = b(y), rs = b(rstd);
    double[] wv = weights(w, cols);
    parallel(rows, 8, (lo, hi, s) -> {
      double[] a = s.row(0, cols);
      for (int r = lo; r < hi; r++) {
        xs.read(r * cols, a, 0, cols, s);
        double ss = 0;
        for (int c = 0; c < cols; c++) ss += a[c] * a[c];
        double inv = 1 / Math.sqrt(ss / cols + eps);
        rs.set(r, inv);
        for (int c = 0; c < cols; c++) a[c] = a[c] * inv * wv[c];
        ys.write(r * cols, a, 0, cols, s);
      }
      return 0;
    });
  }

  /** The gain as float64, or ones when there is none. */
  private double[] weights(Tensor w, int cols) {
    double[] wv = new double[cols];
    if (w == null) java.util.Arrays.fill(wv, 1);
    else b(w).read(0, wv, 0, cols, SCRATCH.get());
    return wv;
  }

  @Override
  public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, int rows, int cols, Tensor dx, Tensor dw) {
    Buf xs = b(x), rs = b(rstd), dys = b(dy), dxs = b(dx);
    double[] wv = weights(w, cols);
    // the gain's gradient sums over rows: per-task partial sums, added in task order
    int tasks = pool == null ? 1 : threads;
    double[][] dwParts = new double[tasks][w == null ? 0 : cols];
    parallel(tasks, 1, (tlo, thi, s0) -> {
      for (int t = tlo; t < thi; t++) {
        int lo = (int) ((long) rows * t / tasks), hi = (int) ((long) rows * (t + 1) / tasks);
        Scratch s = SCRATCH.get();
        double[] a = s.row(0, cols), g = s.row(1, cols), out = s.row(2, cols);
        for (int r = lo; r < hi; r++) {
          xs.read(r * cols, a, 0, cols, s);
          dys.read(r * cols, g, 0, cols, s);
          dxs.read(r * cols, out, 0, cols, s);
          double inv = rs.get(r), dot = 0;
          for (int c = 0; c < cols; c++) {
            if (w != null) dwParts[t][c] += g[c] * a[c] * inv;
            g[c] *= wv[c];
            dot += g[c] * a[c];
          }
          double k = inv * inv * inv * dot / cols;
          for (int c = 0; c < cols; c++) out[c] += g[c] * inv - k * a[c];
          dxs.write(r * cols, out, 0, cols, s);
        }
      }
      return 0;
    });
    if (w != null) {
      Buf dws = b(dw);
      double[] acc = new double[cols];
      dws.read(0, acc, 0, cols, SCRATCH.get());
      for (double[] part : dwParts) for (int c = 0; c < cols; c++) acc[c] += part[c];
      dws.write(0, acc, 0, cols, SCRATCH.get());
    }
  }

  @Override
  public void l2Normalize(Tensor x, int rows, int cols, double eps, Tensor y, Tensor norm) {
    Buf xs = b(x), ys = b(y), ns = b(norm);
    parallel(rows, 8, (lo, hi, s) -> {
      double[] a = s.row(0, cols);
      for (int r = lo; r < hi; r++) {
        xs.read(r * cols, a, 0, cols, s);
        double ss = 0;
        for (int c = 0; c < cols; c++) ss += a[c] * a[c];
        double nrm = Math.sqrt(ss);
        ns.set(r, nrm);
        double inv = 1 / Math.max(nrm, eps);
        for (int c = 0; c < cols; c++) a[c] *= inv;
        ys.write(r * cols, a, 0, cols, s);
      }
      return 0;
    });
  }

  @Override
  public void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, int rows, int cols, double eps, Tensor dx) {
    Buf ys = b(y), ns = b(norm), dys = b(dy), dxs = b(dx);
    parallel(rows, 8, (lo, hi, s) -> {
      double[] u = s.row(0, cols), g = s.row(1, cols);
      for (int r = lo; r < hi; r++) {
        ys.read(r * cols, u, 0, cols, s);
        dys.read(r * cols, g, 0, cols, s);
        double nrm = ns.get(r);
        if (nrm > eps) {
          double dot = 0;
          for (int c = 0; c < cols; c++) dot += u[c] * g[c];
          for (int c = 0; c < cols; c++) g[c] = (g[c] - u[c] * dot) / nrm;
        } else {
          for (int c = 0; c < cols; c++) g[c] /= eps;
        }
        dxs.write(r * cols, g, 0, cols, s);
      }
      return 0;
    });
  }

  @Override
  public void weightNorm(Tensor v, Tensor g, int rows, int cols, Tensor w, Tensor norms) {
    Buf vs = b(v), gs = b(g), ws = b(w), ns = b(norms);
    parallel(rows, 8, (lo, hi, s) -> {
      double[] a = s.row(0, cols);
      for (int r = lo; r < hi; r++) {
        vs.read(r * cols, a, 0, cols, s);
        double ss = 0;
        for (int c = 0; c < cols; c++) ss += a[c] * a[c];
        double nrm = Math.sqrt(ss);
        ns.set(r, nrm);
        double k = gs.get(r) / (nrm + 1e-8);
        for (int c = 0; c < cols; c++) a[c] *= k;
        ws.write(r * cols, a, 0, cols, s);
      }
      return 0;
    });
  }

  @Override
  public void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, int rows, int cols, Tensor dv, Tensor dg) {
    Buf vs = b(v), gs = b(g), ns = b(norms), dws = b(dw), dvs = b(dv), dgs = b(dg);
    parallel(rows, 8, (lo, hi, s) -> {
      double[] a = s.row(0, cols), d = s.row(1, cols), out = s.row(2, cols);
      for (int r = lo; r < hi; r++) {
        vs.read(r * cols, a, 0, cols, s);
        dws.read(r * cols, d, 0, cols, s);
        dvs.read(r * cols, out, 0, cols, s);
        double nrm = ns.get(r), den = nrm + 1e-8, dot = 0;
        for (int c = 0; c < cols; c++) dot += d[c] * a[c];
        dgs.set(r, dgs.get(r) + dot / den);
        double gr = gs.get(r), k = nrm > 0 ? gr * dot / (den * den * nrm) : 0;
        for (int c = 0; c < cols; c++) out[c] += gr / den * d[c] - k * a[c];
        dvs.write(r * cols, out, 0, cols, s);
      }
      return 0;
    });
  }

  // ---- activations and attention --------------------------------------------------------------------

  @Override
  public void gelu(Tensor x, Tensor y) {
    Buf xs = b(x), ys = b(y);
    elementwise(xs.len, (lo, hi, s) -> {
      int n = hi - lo;
      double[] a = s.row(0, n);
      xs.read(lo, a, 0, n, s);
      if (precision == Precision.FLOAT64) {
        for (int i = 0; i < n; i++) a[i] = 0.5 * a[i] * (1 + Erf.precise(a[i] * SQRT_HALF));
      } else {
        for (int i = 0; i < n; i++) a[i] = 0.5 * a[i] * (1 + Erf.fast(a[i] * SQRT_HALF));
      }
      ys.write(lo, a, 0, n, s);
      return 0;
    });
  }

  @Override
  public void geluBackward(Tensor x, Tensor dy, Tensor dx) {
    Buf xs = b(x), dys = b(dy), dxs = b(dx);
    elementwise(xs.len, (lo, hi, s) -> {
      int n = hi - lo;
      double[] a = s.row(0, n), g = s.row(1, n);
      xs.read(lo, a, 0, n, s);
      dys.read(lo, g, 0, n, s);
      double[] cdf = s.row(2, n); // Φ(v) in a loop of its own: without exp it vectorises
      if (precision == Precision.FLOAT64) {
        for (int i = 0; i < n; i++) cdf[i] = 0.5 * (1 + Erf.precise(a[i] * SQRT_HALF));
      } else {
        for (int i = 0; i < n; i++) cdf[i] = 0.5 * (1 + Erf.fast(a[i] * SQRT_HALF));
      }
      for (int i = 0; i < n; i++) g[i] *= cdf[i] + a[i] * INV_SQRT_2PI * Math.exp(-0.5 * a[i] * a[i]);
      dxs.write(lo, g, 0, n, s);
      return 0;
    });
  }

  @Override
  public void ropeTables(Tensor coords, Tensor freqs, int rows, int headDim, Tensor cos, Tensor sin) {
    Buf cs = b(coords), co = b(cos), si = b(sin);
    double[] f = new double[2 * headDim];
    b(freqs).read(0, f, 0, 2 * headDim, SCRATCH.get());
    parallel(rows, 8, (lo, hi, s) -> {
      double[] c = s.row(0, headDim), sn = s.row(1, headDim), yx = s.row(2, 2);
      for (int r = lo; r < hi; r++) {
        cs.read(2 * r, yx, 0, 2, s);
        for (int k = 0; k < headDim; k++) {
          double angle = yx[0] * f[k] + yx[1] * f[headDim + k];
          c[k] = Math.cos(angle);
          sn[k] = Math.sin(angle);
        }
        co.write(r * headDim, c, 0, headDim, s);
        si.write(r * headDim, sn, 0, headDim, s);
      }
      return 0;
    });
  }

  @Override
  public void rope(Tensor x, Tensor cos, Tensor sin, int rows, int heads, int headDim, boolean transpose) {
    Buf xs = b(x), co = b(cos), si = b(sin);
    int half = headDim / 2, width = heads * headDim;
    parallel(rows, 8, (lo, hi, s) -> {
      double[] a = s.row(0, width), c = s.row(1, headDim), sn = s.row(2, headDim);
      for (int r = lo; r < hi; r++) {
        xs.read(r * width, a, 0, width, s);
        co.read(r * headDim, c, 0, headDim, s);
        si.read(r * headDim, sn, 0, headDim, s);
        for (int h = 0; h < heads; h++) {
          int o = h * headDim;
          for (int k = 0; k < half; k++) {
            double x1 = a[o + k], x2 = a[o + k + half];
            if (!transpose) {
              a[o + k] = x1 * c[k] - x2 * sn[k];
              a[o + k + half] = x2 * c[k + half] + x1 * sn[k + half];
            } else {
              a[o + k] = x1 * c[k] + x2 * sn[k + half];
              a[o + k + half] = x2 * c[k + half] - x1 * sn[k];
            }
          }
        }
        xs.write(r * width, a, 0, width, s);
      }
      return 0;
    });
  }

  @Override
  public void softmaxRows(Tensor x, int rows, int cols) {
    Buf xs = b(x);
    parallel(rows, 16, (lo, hi, s) -> {
      double[] a = s.row(0, cols);
      for (int r = lo; r < hi; r++) {
        xs.read(r * cols, a, 0, cols, s);
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int c = 0; c < cols; c++) max = Math.max(max, a[c]);
        for (int c = 0; c < cols; c++) sum += a[c] = Math.exp(a[c] - max);
        double inv = 1 / sum;
        for (int c = 0; c < cols; c++) a[c] *= inv;
        xs.write(r * cols, a, 0, cols, s);
      }
      return 0;
    });
  }

  @Override
  public void softmaxRowsBackward(Tensor p, Tensor dp, int rows, int cols) {
    Buf ps = b(p), ds = b(dp);
    parallel(rows, 16, (lo, hi, s) -> {
      double[] a = s.row(0, cols), g = s.row(1, cols);
      for (int r = lo; r < hi; r++) {
        ps.read(r * cols, a, 0, cols, s);
        ds.read(r * cols, g, 0, cols, s);
        double dot = 0;
        for (int c = 0; c < cols; c++) dot += a[c] * g[c];
        for (int c = 0; c < cols; c++) g[c] = a[c] * (g[c] - dot);
        ds.write(r * cols, g, 0, cols, s);
      }
      return 0;
    });
  }

  // ---- losses -------------------------------------------------------------------------------------

  @Override
  public double softTargetCrossEntropy(Tensor z, Tensor t, int rows, int cols, double temp, Tensor dz, double gradScale) {
    Buf zs = b(z), ts = b(t), ds = dz == null ? null : b(dz);
    return parallel(rows, 8, (lo, hi, s) -> {
      double[] a = s.row(0, cols), q = s.row(1, cols);
      double total = 0;
      for (int r = lo; r < hi; r++) {
        zs.read(r * cols, a, 0, cols, s);
        ts.read(r * cols, q, 0, cols, s);
        double max = Double.NEGATIVE_INFINITY, sum = 0, dot = 0, mass = 0;
        for (int c = 0; c < cols; c++) max = Math.max(max, a[c] /= temp);
        for (int c = 0; c < cols; c++) {
          dot += q[c] * (a[c] - max); // Σ t·(z/τ − max)
          mass += q[c];
          sum += a[c] = Math.exp(a[c] - max); // one exp per element
        }
        double loss = mass * Math.log(sum) - dot; // −Σ t·log softmax = Σt·log Σe − Σ t·(z/τ − max)
        double k = gradScale / temp, inv = 1 / sum;
        for (int c = 0; c < cols; c++) a[c] = k * (a[c] * inv - q[c]);
        if (ds != null) ds.write(r * cols, a, 0, cols, s);
        total += loss;
      }
      return total;
    });
  }

  @Override
  public double entropyRows(Tensor p, int rows, int cols) {
    Buf ps = b(p);
    return parallel(rows, 8, (lo, hi, s) -> {
      double[] a = s.row(0, cols);
      double total = 0;
      for (int r = lo; r < hi; r++) {
        ps.read(r * cols, a, 0, cols, s);
        for (int c = 0; c < cols; c++) if (a[c] > 0) total -= a[c] * Math.log(a[c]);
      }
      return total;
    });
  }

  // ---- Sinkhorn-Knopp -------------------------------------------------------------------------------

  @Override
  public void columnMax(Tensor x, int problems, int samples, int cols, Tensor out) {
    columnReduce(x, problems, samples, cols, out, true);
  }

  @Override
  public void columnSum(Tensor x, int problems, int samples, int cols, Tensor out) {
    columnReduce(x, problems, samples, cols, out, false);
  }

  private void columnReduce(Tensor x, int problems, int samples, int cols, Tensor out, boolean max) {
    Buf xs = b(x), os = b(out);
    parallel(problems, 1, (lo, hi, s) -> {
      double[] a = s.row(0, cols), acc = s.row(1, cols);
      for (int p = lo; p < hi; p++) {
        java.util.Arrays.fill(acc, 0, cols, max ? Double.NEGATIVE_INFINITY : 0);
        for (int smp = 0; smp < samples; smp++) {
          xs.read((p * samples + smp) * cols, a, 0, cols, s);
          if (max) for (int k = 0; k < cols; k++) acc[k] = Math.max(acc[k], a[k]);
          else for (int k = 0; k < cols; k++) acc[k] += a[k];
        }
        os.write(p * cols, acc, 0, cols, s);
      }
      return 0;
    });
  }

  @Override
  public void expShifted(Tensor x, Tensor shift, int problems, int samples, int cols, double offset) {
    Buf xs = b(x), ss = b(shift);
    parallel(problems * samples, 8, (lo, hi, s) -> {
      double[] a = s.row(0, cols), sh = s.row(1, cols);
      for (int r = lo; r < hi; r++) {
        xs.read(r * cols, a, 0, cols, s);
        ss.read((r / samples) * cols, sh, 0, cols, s);
        for (int k = 0; k < cols; k++) a[k] = Math.exp(a[k] - sh[k] + offset);
        xs.write(r * cols, a, 0, cols, s);
      }
      return 0;
    });
  }

  @Override
  public void sinkhornStep(Tensor x, Tensor colsum, int problems, int samples, int cols, double eps, Tensor nextColsum) {
    Buf xs = b(x), cs = b(colsum), ns = nextColsum == null ? null : b(nextColsum);
    // one sweep per position: the next column sums are local to it, so positions split over threads
    parallel(problems, 1, (lo, hi, s) -> {
      double[] a = s.row(0, cols), sum = s.row(1, cols), next = s.row(2, cols);
      for (int p = lo; p < hi; p++) {
        cs.read(p * cols, sum, 0, cols, s);
        java.util.Arrays.fill(next, 0, cols, 0);
        for (int smp = 0; smp < samples; smp++) {
          int r = p * samples + smp;
          xs.read(r * cols, a, 0, cols, s);
          double rowSum = 0;
          for (int k = 0; k < cols; k++) rowSum += a[k] /= sum[k] + eps;
          double den = rowSum + eps;
          for (int k = 0; k < cols; k++) next[k] += a[k] /= den;
          xs.write(r * cols, a, 0, cols, s);
        }
        if (ns != null) ns.write(p * cols, next, 0, cols, s);
      }
      return 0;
    });
  }

  // ---- optimisation -------------------------------------------------------------------------------

  @Override
  public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd,
      double beta1, double beta2, double eps, long t) {
    Buf ps = b(p), gs = b(g), ms = b(m), vs = b(v);
    double bc1 = 1 - Math.pow(beta1, t), bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
    for (int seg = 0; seg + 1 < segments.length; seg++) {
      int start = (int) segments[seg], len = (int) (segments[seg + 1] - segments[seg]);
      double step = lr[seg] / bc1, decay = 1 - lr[seg] * wd[seg];
      elementwise(len, (lo, hi, s) -> {
        int n = hi - lo, at = start + lo;
        double[] pa = s.row(0, n), ga = s.row(1, n), ma = s.row(2, n), va = s.row(3, n);
        ps.read(at, pa, 0, n, s);
        gs.read(at, ga, 0, n, s);
        ms.read(at, ma, 0, n, s);
        vs.read(at, va, 0, n, s);
        for (int i = 0; i < n; i++) {
          ma[i] = beta1 * ma[i] + (1 - beta1) * ga[i];
          va[i] = beta2 * va[i] + (1 - beta2) * ga[i] * ga[i];
          pa[i] = pa[i] * decay - step * ma[i] / (Math.sqrt(va[i]) / bc2Sqrt + eps);
        }
        ps.write(at, pa, 0, n, s);
        ms.write(at, ma, 0, n, s);
        vs.write(at, va, 0, n, s);
        return 0;
      });
    }
  }

  @Override
  public void ema(Tensor teacher, Tensor student, double momentum) {
    Buf ts = b(teacher), ss = b(student);
    elementwise(ts.len, (lo, hi, s) -> {
      int n = hi - lo;
      double[] a = s.row(0, n), c = s.row(1, n);
      ts.read(lo, a, 0, n, s);
      ss.read(lo, c, 0, n, s);
      for (int i = 0; i < n; i++) a[i] = momentum * a[i] + (1 - momentum) * c[i];
      ts.write(lo, a, 0, n, s);
      return 0;
    });
  }

  @Override
  public void close() {
    if (pool != null) pool.shutdown();
  }
}
