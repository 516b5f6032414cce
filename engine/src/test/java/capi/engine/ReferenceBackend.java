package capi.engine;

import java.nio.FloatBuffer;

/**
 * The executable definition of every {@link Backend} primitive: float64, heap arrays, the most
 * direct loops (naive matrix products, no fusion). Backends are checked against it
 * ({@link BackendConformance}).
 */
final class ReferenceBackend implements Backend {
  static final class Ref implements Tensor {
    final double[] a;
    final int off;
    final int len;

    Ref(double[] a, int off, int len) {
      this.a = a;
      this.off = off;
      this.len = len;
    }

    @Override
    public long length() {
      return len;
    }

    double get(long i) {
      return a[off + (int) i];
    }

    void set(long i, double v) {
      a[off + (int) i] = v;
    }
  }

  private static Ref r(Tensor t) {
    return (Ref) t;
  }

  @Override
  public Precision precision() {
    return Precision.FLOAT64;
  }

  @Override
  public Tensor allocate(long length) {
    return new Ref(new double[(int) length], 0, (int) length);
  }

  @Override
  public Tensor view(Tensor t, long offset, long length) {
    return new Ref(r(t).a, r(t).off + (int) offset, (int) length);
  }

  @Override
  public void free(Tensor t) {}

  @Override
  public long allocatedBytes() {
    return 0; // heap arrays, left to the GC
  }

  @Override
  public void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    for (int i = 0; i < n; i++) r(dst).set(dstOffset + i, src[srcOffset + i]);
  }

  @Override
  public void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    for (int i = 0; i < n; i++) r(dst).set(dstOffset + i, src[srcOffset + i]);
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
  public void download(Tensor src, FloatBuffer dst) {
    for (int i = 0; i < src.length(); i++) dst.put(i, (float) r(src).get(i));
  }

  @Override
  public void upload(FloatBuffer src, Tensor dst) {
    for (int i = 0; i < dst.length(); i++) r(dst).set(i, src.get(i));
  }

  @Override
  public void fill(Tensor t, double value) {
    for (int i = 0; i < t.length(); i++) r(t).set(i, value);
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
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
  public double sumSquares(Tensor x) {
    double s = 0;
    for (int i = 0; i < x.length(); i++) s += r(x).get(i) * r(x).get(i);
    return s;
  }

  @Override
  public long checksum(Tensor x) {
    throw new UnsupportedOperationException("bit patterns are backend-specific");
  }

  @Override
  public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Tensor a, long aOffset, int lda,
      Tensor b, long bOffset, int ldb, double beta, Tensor c, long cOffset, int ldc, int batch, long strideA,
      long strideB, long strideC) {
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
  public void addRowVector(Tensor x, int rows, int cols, Tensor v) {
    for (int i = 0; i < rows * cols; i++) r(x).set(i, r(x).get(i) + r(v).get(i % cols));
  }

  @Override
  public void sumRows(Tensor x, int rows, int cols, Tensor out) {
    for (int c = 0; c < cols; c++) {
      double s = 0;
      for (int i = 0; i < rows; i++) s += r(x).get((long) i * cols + c);
      r(out).set(c, r(out).get(c) + s);
    }
  }

  @Override
  public void gatherRows(Tensor src, int[] index, int cols, Tensor dst) {
    for (int i = 0; i < index.length; i++) {
      for (int c = 0; c < cols; c++) r(dst).set((long) i * cols + c, r(src).get((long) index[i] * cols + c));
    }
  }

  @Override
  public void scatterAddRows(Tensor src, int[] index, int cols, double alpha, Tensor dst) {
    for (int i = 0; i < index.length; i++) {
      for (int c = 0; c < cols; c++) {
        long d = (long) index[i] * cols + c;
        r(dst).set(d, r(dst).get(d) + alpha * r(src).get((long) i * cols + c));
      }
    }
  }

  @Override
  public void patchify(Tensor images, int channels, int height, int width, int patch, int[] index, Tensor dst) {
    int gw = width / patch, n = (height / patch) * gw;
    int col = 0;
    for (int i = 0; i < index.length; i++) {
      int img = index[i] / n, row = (index[i] % n) / gw, cl = (index[i] % n) % gw;
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
  public void rmsNorm(Tensor x, Tensor w, int rows, int cols, double eps, Tensor y, Tensor rstd) {
    for (int i = 0; i < rows; i++) {
      double ms = 0;
      for (int c = 0; c < cols; c++) ms += sq(r(x).get((long) i * cols + c)) / cols;
      double s = 1 / Math.sqrt(ms + eps);
      r(rstd).set(i, s);
      for (int c = 0; c < cols; c++) {
        r(y).set((long) i * cols + c, r(x).get((long) i * cols + c) * s * (w == null ? 1 : r(w).get(c)));
      }
    }
  }

  @Override
  public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, int rows, int cols, Tensor dx, Tensor dw) {
    // y_c = x_c·s·w_c with s = (Σx²/D + eps)^(−1/2): ∂s/∂x_j = −s³·x_j/D
    for (int i = 0; i < rows; i++) {
      double s = r(rstd).get(i);
      double t = 0;
      for (int c = 0; c < cols; c++) t += r(dy).get((long) i * cols + c) * (w == null ? 1 : r(w).get(c)) * r(x).get((long) i * cols + c);
      for (int j = 0; j < cols; j++) {
        long o = (long) i * cols + j;
        double g = r(dy).get(o) * (w == null ? 1 : r(w).get(j)) * s - t * s * s * s * r(x).get(o) / cols;
        r(dx).set(o, r(dx).get(o) + g);
        if (dw != null) r(dw).set(j, r(dw).get(j) + r(dy).get(o) * r(x).get(o) * s);
      }
    }
  }

  @Override
  public void l2Normalize(Tensor x, int rows, int cols, double eps, Tensor y, Tensor norm) {
    for (int i = 0; i < rows; i++) {
      double s = 0;
      for (int c = 0; c < cols; c++) s += sq(r(x).get((long) i * cols + c));
      double n = Math.sqrt(s);
      r(norm).set(i, n);
      for (int c = 0; c < cols; c++) r(y).set((long) i * cols + c, r(x).get((long) i * cols + c) / Math.max(n, eps));
    }
  }

  @Override
  public void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, int rows, int cols, double eps, Tensor dx) {
    for (int i = 0; i < rows; i++) {
      double n = r(norm).get(i);
      double t = 0;
      for (int c = 0; c < cols; c++) t += r(y).get((long) i * cols + c) * r(dy).get((long) i * cols + c);
      for (int c = 0; c < cols; c++) {
        long o = (long) i * cols + c;
        r(dx).set(o, n > eps ? (r(dy).get(o) - r(y).get(o) * t) / n : r(dy).get(o) / eps);
      }
    }
  }

  @Override
  public void weightNorm(Tensor v, Tensor g, int rows, int cols, Tensor w, Tensor norms) {
    for (int i = 0; i < rows; i++) {
      double s = 0;
      for (int c = 0; c < cols; c++) s += sq(r(v).get((long) i * cols + c));
      double n = Math.sqrt(s);
      r(norms).set(i, n);
      for (int c = 0; c < cols; c++) r(w).set((long) i * cols + c, r(g).get(i) * r(v).get((long) i * cols + c) / (n + 1e-8));
    }
  }

  @Override
  public void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, int rows, int cols, Tensor dv, Tensor dg) {
    // w_c = g·v_c/(n + 1e-8), n = ‖v‖: ∂w_c/∂v_j = g·δ_cj/(n+ε) − g·v_c·v_j/((n+ε)²·n)
    for (int i = 0; i < rows; i++) {
      double n = r(norms).get(i), gi = r(g).get(i), den = n + 1e-8;
      double t = 0;
      for (int c = 0; c < cols; c++) t += r(dw).get((long) i * cols + c) * r(v).get((long) i * cols + c);
      r(dg).set(i, r(dg).get(i) + t / den);
      for (int j = 0; j < cols; j++) {
        long o = (long) i * cols + j;
        r(dv).set(o, r(dv).get(o) + gi * r(dw).get(o) / den - gi * t * r(v).get(o) / (den * den * n));
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
  public void ropeTables(Tensor coords, Tensor freqs, int rows, int headDim, Tensor cos, Tensor sin) {
    for (int i = 0; i < rows; i++) {
      for (int c = 0; c < headDim; c++) {
        double a = r(coords).get(2L * i) * r(freqs).get(c) + r(coords).get(2L * i + 1) * r(freqs).get(headDim + c);
        r(cos).set((long) i * headDim + c, Math.cos(a));
        r(sin).set((long) i * headDim + c, Math.sin(a));
      }
    }
  }

  @Override
  public void rope(Tensor x, Tensor cos, Tensor sin, int rows, int heads, int headDim, boolean transpose) {
    // out = M·x per head with M = diag(cos) + diag(sin)·R, R·x = rotate_half(x); transpose: Mᵀ·x
    int half = headDim / 2;
    double[] in = new double[headDim];
    for (int i = 0; i < rows; i++) {
      for (int h = 0; h < heads; h++) {
        long o = ((long) i * heads + h) * headDim;
        for (int c = 0; c < headDim; c++) in[c] = r(x).get(o + c);
        for (int c = 0; c < headDim; c++) {
          double s = 0;
          for (int j = 0; j < headDim; j++) s += (transpose ? m(cos, sin, i, headDim, half, j, c) : m(cos, sin, i, headDim, half, c, j)) * in[j];
          r(x).set(o + c, s);
        }
      }
    }
  }

  /** Entry (c, j) of the RoPE matrix of row i. */
  private static double m(Tensor cos, Tensor sin, int i, int d, int half, int c, int j) {
    double v = c == j ? r(cos).get((long) i * d + c) : 0;
    if (c < half && j == c + half) v -= r(sin).get((long) i * d + c); // rotate_half: −x2 in the first half
    if (c >= half && j == c - half) v += r(sin).get((long) i * d + c); // x1 in the second half
    return v;
  }

  @Override
  public void softmaxRows(Tensor x, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
      double max = Double.NEGATIVE_INFINITY, s = 0;
      for (int c = 0; c < cols; c++) max = Math.max(max, r(x).get((long) i * cols + c));
      for (int c = 0; c < cols; c++) s += Math.exp(r(x).get((long) i * cols + c) - max);
      for (int c = 0; c < cols; c++) r(x).set((long) i * cols + c, Math.exp(r(x).get((long) i * cols + c) - max) / s);
    }
  }

  @Override
  public void softmaxRowsBackward(Tensor p, Tensor dp, int rows, int cols) {
    // Jacobian of softmax: ∂p_c/∂s_j = p_c(δ_cj − p_j); dS_j = Σ_c dp_c·p_c(δ_cj − p_j)
    double[] d = new double[cols];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < cols; j++) {
        double s = 0;
        for (int c = 0; c < cols; c++) {
          double pc = r(p).get((long) i * cols + c), pj = r(p).get((long) i * cols + j);
          s += r(dp).get((long) i * cols + c) * pc * ((c == j ? 1 : 0) - pj);
        }
        d[j] = s;
      }
      for (int j = 0; j < cols; j++) r(dp).set((long) i * cols + j, d[j]);
    }
  }

  @Override
  public double softTargetCrossEntropy(Tensor z, Tensor t, int rows, int cols, double temp, Tensor dz, double gradScale) {
    double total = 0;
    for (int i = 0; i < rows; i++) {
      double max = Double.NEGATIVE_INFINITY, s = 0;
      for (int c = 0; c < cols; c++) max = Math.max(max, r(z).get((long) i * cols + c) / temp);
      for (int c = 0; c < cols; c++) s += Math.exp(r(z).get((long) i * cols + c) / temp - max);
      for (int c = 0; c < cols; c++) {
        long o = (long) i * cols + c;
        double logp = r(z).get(o) / temp - max - Math.log(s);
        total -= r(t).get(o) * logp;
        if (dz != null) r(dz).set(o, gradScale * (Math.exp(logp) - r(t).get(o)) / temp);
      }
    }
    return total;
  }

  @Override
  public double entropyRows(Tensor p, int rows, int cols) {
    double h = 0;
    for (int i = 0; i < rows * cols; i++) {
      double v = r(p).get(i);
      h -= v > 0 ? v * Math.log(v) : 0;
    }
    return h;
  }

  @Override
  public void columnMax(Tensor x, int problems, int samples, int cols, Tensor out) {
    for (int p = 0; p < problems; p++) {
      for (int k = 0; k < cols; k++) {
        double m = Double.NEGATIVE_INFINITY;
        for (int s = 0; s < samples; s++) m = Math.max(m, r(x).get(((long) p * samples + s) * cols + k));
        r(out).set((long) p * cols + k, m);
      }
    }
  }

  @Override
  public void columnSum(Tensor x, int problems, int samples, int cols, Tensor out) {
    for (int p = 0; p < problems; p++) {
      for (int k = 0; k < cols; k++) {
        double m = 0;
        for (int s = 0; s < samples; s++) m += r(x).get(((long) p * samples + s) * cols + k);
        r(out).set((long) p * cols + k, m);
      }
    }
  }

  @Override
  public void expShifted(Tensor x, Tensor shift, int problems, int samples, int cols, double offset) {
    for (int p = 0; p < problems; p++) {
      for (int s = 0; s < samples; s++) {
        for (int k = 0; k < cols; k++) {
          long o = ((long) p * samples + s) * cols + k;
          r(x).set(o, Math.exp(r(x).get(o) - r(shift).get((long) p * cols + k) + offset));
        }
      }
    }
  }

  @Override
  public void sinkhornStep(Tensor x, Tensor colsum, int problems, int samples, int cols, double eps, Tensor nextColsum) {
    for (int p = 0; p < problems; p++) {
      for (int s = 0; s < samples; s++) {
        for (int k = 0; k < cols; k++) {
          long o = ((long) p * samples + s) * cols + k;
          r(x).set(o, r(x).get(o) / (r(colsum).get((long) p * cols + k) + eps));
        }
      }
    }
    for (int i = 0; i < problems * samples; i++) {
      double sum = 0;
      for (int c = 0; c < cols; c++) sum += r(x).get((long) i * cols + c);
      for (int c = 0; c < cols; c++) r(x).set((long) i * cols + c, r(x).get((long) i * cols + c) / (sum + eps));
    }
    if (nextColsum != null) columnSum(x, problems, samples, cols, nextColsum);
  }

  @Override
  public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd, double beta1,
      double beta2, double eps, long t) {
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
  }

  @Override
  public void ema(Tensor teacher, Tensor student, double momentum) {
    for (int i = 0; i < teacher.length(); i++) {
      r(teacher).set(i, momentum * r(teacher).get(i) + (1 - momentum) * r(student).get(i));
    }
  }

  private static double sq(double v) {
    return v * v;
  }

  @Override
  public void close() {}
}
