package capi.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products on Java arrays, C ← alpha·op(A)·op(B) + beta·C, row-major with leading
 * dimensions (BLAS semantics).
 *
 * <p>float32: a register-blocked micro-kernel of MR × NR accumulators (4 rows × 4 vectors: 64
 * columns with AVX-512, so the model's widths fill whole panels) runs fused multiply-adds over KC
 * slices of k; packing (the GotoBLAS way) is left to what is not laid out for it
 * ({@link #sgemm}): at these sizes copying costs as much as computing. Every C element is the
 * same k-ordered sum whatever the thread split: results do not depend on the number of threads.
 * Threads split the rows of C (or its columns when there are few rows).
 *
 * <p>float64 (checks, not speed) packs op(B) row-major and accumulates rows of C in order.
 */
final class Gemm {
  static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  static final int L = S.length();
  static final int MR = 4;
  static final int NV = 4;
  static final int NR = NV * L;
  /** The tile of {@link #sgemmTN}: TN = 16 rows × one vector of columns (16 with AVX-512). */
  static final int TN = 16;
  private static final int KC = 256;

  private Gemm() {}

  /** Per-thread buffers: an edge strip of A, a packed panel of B, a tile. */
  static final class Scratch {
    final float[] a = new float[MR * KC];
    final float[] b = new float[KC * NR];
    final float[] tile = new float[Math.max(MR * NR, TN * L)];
    double[] rowB = new double[0];
    double[] acc = new double[0];
  }

  /**
   * One product on rows [m0, m1) and columns [n0, n1) of C. Per KC slice of k, per panel of NR
   * columns, packed contiguous (rows of B 256 bytes apart at a stride of a few KiB would fall into
   * a few L1 sets) and kept in L1 while every strip of MR rows passes it; the kernel reads a full
   * strip of A where it is (4 row streams, or 4-element rows of a transposed A) and packs only the
   * edge strip, zero padded.
   */
  static void sgemm(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k, float alpha,
      float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc, Scratch s) {
    if (transA && !transB && m1 - m0 >= TN && n1 - n0 >= L) {
      sgemmTN(m0, m1, n0, n1, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, s);
      return;
    }
    for (int pc = 0; pc < k; pc += KC) {
      int kc = Math.min(KC, k - pc);
      float bt = pc == 0 ? beta : 1f;
      for (int j0 = n0; j0 < n1; j0 += NR) {
        int cols = Math.min(NR, n1 - j0);
        packPanel(transB, b, bOff, ldb, pc, kc, j0, cols, s.b);
        for (int i0 = m0; i0 < m1; i0 += MR) {
          int rows = Math.min(MR, m1 - i0);
          float[] as = a;
          int ao, aps, ars;
          if (rows < MR) {
            packStrip(transA, a, aOff, lda, i0, rows, pc, kc, s.a);
            as = s.a;
            ao = 0;
            aps = MR;
            ars = 1;
          } else if (transA) { // A stored (k × m): row p holds the strip's MR values side by side
            ao = aOff + pc * lda + i0;
            aps = lda;
            ars = 1;
          } else { // A stored (m × k): MR row streams
            ao = aOff + i0 * lda + pc;
            aps = 1;
            ars = lda;
          }
          kernel(as, ao, aps, ars, s.b, 0, NR, kc, alpha, bt, c, cOff + i0 * ldc + j0, ldc, rows, cols, s.tile);
        }
      }
    }
    if (k == 0) scaleC(m0, m1, n0, n1, beta, c, cOff, ldc);
  }

  /**
   * C ← alpha·Aᵀ·B + beta·C with A stored (k × m) and B (k × n), both read in place: the weight
   * gradients (dW += dyᵀ·x) and the attention's dk, dv. A 4-row strip of Aᵀ would use 16 bytes of
   * every cache line of A it touches (and touch them again for every panel); tiles of 16 rows × one
   * vector use whole lines of A and keep a strip's lines in L1 across the panels. Edge rows and
   * columns go through the general path.
   */
  private static void sgemmTN(int m0, int m1, int n0, int n1, int k, float alpha, float[] a, int aOff, int lda, float[] b,
      int bOff, int ldb, float beta, float[] c, int cOff, int ldc, Scratch s) {
    int mEnd = m0 + (m1 - m0) / TN * TN, nEnd = n0 + (n1 - n0) / L * L;
    for (int pc = 0; pc < k; pc += KC) {
      int kc = Math.min(KC, k - pc);
      float bt = pc == 0 ? beta : 1f;
      if (mEnd - m0 >= nEnd - n0) { // strips outer: a strip of A (kc lines) stays in L1 across the panels
        for (int i0 = m0; i0 < mEnd; i0 += TN) {
          for (int j0 = n0; j0 < nEnd; j0 += L) tileTN(i0, j0, pc, kc, alpha, bt, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, s);
        }
      } else { // panels outer: a column of B stays in L1 across the strips
        for (int j0 = n0; j0 < nEnd; j0 += L) {
          for (int i0 = m0; i0 < mEnd; i0 += TN) tileTN(i0, j0, pc, kc, alpha, bt, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, s);
        }
      }
    }
    if (nEnd < n1) sgemm(true, false, m0, mEnd, nEnd, n1, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, s);
    if (mEnd < m1) sgemm(true, false, mEnd, m1, n0, n1, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, s);
  }

  private static void tileTN(int i0, int j0, int pc, int kc, float alpha, float beta, float[] a, int aOff, int lda,
      float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, Scratch s) {
    kernelTN(a, aOff + pc * lda + i0, lda, b, bOff + pc * ldb + j0, ldb, kc, s.tile);
    update(s.tile, L, alpha, beta, c, cOff + i0 * ldc + j0, ldc, TN, L);
  }

  /** tile[r·L + j] ← Σ_p a[ao + p·lda + r]·b[bo + p·ldb + j] for a 16-row tile of one vector of columns. */
  private static void kernelTN(float[] a, int ao, int lda, float[] b, int bo, int ldb, int kc, float[] tile) {
    FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
    FloatVector c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
    for (int p = 0, ai = ao, bi = bo; p < kc; p++, ai += lda, bi += ldb) {
      FloatVector x = FloatVector.fromArray(S, b, bi);
      c0 = x.fma(FloatVector.broadcast(S, a[ai]), c0);
      c1 = x.fma(FloatVector.broadcast(S, a[ai + 1]), c1);
      c2 = x.fma(FloatVector.broadcast(S, a[ai + 2]), c2);
      c3 = x.fma(FloatVector.broadcast(S, a[ai + 3]), c3);
      c4 = x.fma(FloatVector.broadcast(S, a[ai + 4]), c4);
      c5 = x.fma(FloatVector.broadcast(S, a[ai + 5]), c5);
      c6 = x.fma(FloatVector.broadcast(S, a[ai + 6]), c6);
      c7 = x.fma(FloatVector.broadcast(S, a[ai + 7]), c7);
      c8 = x.fma(FloatVector.broadcast(S, a[ai + 8]), c8);
      c9 = x.fma(FloatVector.broadcast(S, a[ai + 9]), c9);
      c10 = x.fma(FloatVector.broadcast(S, a[ai + 10]), c10);
      c11 = x.fma(FloatVector.broadcast(S, a[ai + 11]), c11);
      c12 = x.fma(FloatVector.broadcast(S, a[ai + 12]), c12);
      c13 = x.fma(FloatVector.broadcast(S, a[ai + 13]), c13);
      c14 = x.fma(FloatVector.broadcast(S, a[ai + 14]), c14);
      c15 = x.fma(FloatVector.broadcast(S, a[ai + 15]), c15);
    }
    c0.intoArray(tile, 0);
    c1.intoArray(tile, L);
    c2.intoArray(tile, 2 * L);
    c3.intoArray(tile, 3 * L);
    c4.intoArray(tile, 4 * L);
    c5.intoArray(tile, 5 * L);
    c6.intoArray(tile, 6 * L);
    c7.intoArray(tile, 7 * L);
    c8.intoArray(tile, 8 * L);
    c9.intoArray(tile, 9 * L);
    c10.intoArray(tile, 10 * L);
    c11.intoArray(tile, 11 * L);
    c12.intoArray(tile, 12 * L);
    c13.intoArray(tile, 13 * L);
    c14.intoArray(tile, 14 * L);
    c15.intoArray(tile, 15 * L);
  }

  private static void scaleC(int m0, int m1, int n0, int n1, float beta, float[] c, int cOff, int ldc) {
    for (int i = m0; i < m1; i++) {
      for (int j = n0; j < n1; j++) c[cOff + i * ldc + j] = beta == 0 ? 0 : beta * c[cOff + i * ldc + j];
    }
  }

  /** Packs op(B)[pc, pc + kc) × [j0, j0 + cols) into bp[p·NR + j], zero padded to NR columns. */
  private static void packPanel(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int j0, int cols, float[] bp) {
    if (!transB) {
      for (int p = 0; p < kc; p++) {
        System.arraycopy(b, bOff + (pc + p) * ldb + j0, bp, p * NR, cols);
        for (int j = cols; j < NR; j++) bp[p * NR + j] = 0;
      }
      return;
    }
    for (int j = 0; j < NR; j++) { // B stored (n × k): read each column of op(B) along its stored row
      if (j >= cols) {
        for (int p = 0; p < kc; p++) bp[p * NR + j] = 0;
        continue;
      }
      int src = bOff + (j0 + j) * ldb + pc;
      for (int p = 0; p < kc; p++) bp[p * NR + j] = b[src + p];
    }
  }

  /** Packs op(A)[i0, i0 + rows) × [pc, pc + kc) (an edge strip) into ap[p·MR + r], zero padded to MR rows. */
  private static void packStrip(boolean transA, float[] a, int aOff, int lda, int i0, int rows, int pc, int kc, float[] ap) {
    for (int p = 0; p < kc; p++) {
      for (int r = 0; r < MR; r++) {
        ap[p * MR + r] = r >= rows ? 0 : transA ? a[aOff + (pc + p) * lda + i0 + r] : a[aOff + (i0 + r) * lda + pc + p];
      }
    }
  }

  /**
   * MR × NR tile: C ← alpha·Ap·Bp + beta·C on its rows × cols valid part (beta 0: C not read).
   * The accumulation is branch-free and passes no vector across a call (C2 keeps the 18
   * accumulators in registers only when everything inlines); the tile goes through a scratch row
   * block to {@link #update}.
   */
  private static void kernel(float[] ap, int ao, int aps, int ars, float[] bp, int bo, int bps, int kc, float alpha,
      float beta, float[] c, int co, int ldc, int rows, int cols, float[] tile) {
    FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    int a1 = ars, a2 = 2 * ars, a3 = 3 * ars;
    for (int p = 0, ai = ao, bi = bo; p < kc; p++, ai += aps, bi += bps) {
      FloatVector b0 = FloatVector.fromArray(S, bp, bi);
      FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
      FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L);
      FloatVector b3 = FloatVector.fromArray(S, bp, bi + 3 * L);
      FloatVector x = FloatVector.broadcast(S, ap[ai]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      c03 = b3.fma(x, c03);
      x = FloatVector.broadcast(S, ap[ai + a1]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      c13 = b3.fma(x, c13);
      x = FloatVector.broadcast(S, ap[ai + a2]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      c23 = b3.fma(x, c23);
      x = FloatVector.broadcast(S, ap[ai + a3]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      c33 = b3.fma(x, c33);
    }
    c00.intoArray(tile, 0);
    c01.intoArray(tile, L);
    c02.intoArray(tile, 2 * L);
    c03.intoArray(tile, 3 * L);
    c10.intoArray(tile, NR);
    c11.intoArray(tile, NR + L);
    c12.intoArray(tile, NR + 2 * L);
    c13.intoArray(tile, NR + 3 * L);
    c20.intoArray(tile, 2 * NR);
    c21.intoArray(tile, 2 * NR + L);
    c22.intoArray(tile, 2 * NR + 2 * L);
    c23.intoArray(tile, 2 * NR + 3 * L);
    c30.intoArray(tile, 3 * NR);
    c31.intoArray(tile, 3 * NR + L);
    c32.intoArray(tile, 3 * NR + 2 * L);
    c33.intoArray(tile, 3 * NR + 3 * L);
    update(tile, NR, alpha, beta, c, co, ldc, rows, cols);
  }

  /** C[r, j] ← alpha·tile[r·ts + j] + beta·C[r, j] on rows × cols (whole vectors where they fit). */
  private static void update(float[] tile, int ts, float alpha, float beta, float[] c, int co, int ldc, int rows,
      int cols) {
    int full = cols - cols % L;
    for (int r = 0; r < rows; r++) {
      int t = r * ts, o = co + r * ldc;
      if (beta == 0) {
        for (int j = 0; j < full; j += L) FloatVector.fromArray(S, tile, t + j).mul(alpha).intoArray(c, o + j);
        for (int j = full; j < cols; j++) c[o + j] = alpha * tile[t + j];
      } else {
        for (int j = 0; j < full; j += L) {
          FloatVector.fromArray(S, c, o + j).mul(beta).add(FloatVector.fromArray(S, tile, t + j).mul(alpha)).intoArray(c, o + j);
        }
        for (int j = full; j < cols; j++) c[o + j] = alpha * tile[t + j] + beta * c[o + j];
      }
    }
  }

  /** float64: rows [m0, m1) of C, every row the k-ordered sum Σ_p op(A)[i, p]·op(B)[p, :]. */
  static void dgemm(boolean transA, int m0, int m1, int n, int k, double alpha, double[] a, int aOff,
      int lda, double[] rowB, double beta, double[] c, int cOff, int ldc, Scratch s) {
    if (s.acc.length < n) s.acc = new double[n];
    double[] acc = s.acc;
    for (int i = m0; i < m1; i++) {
      java.util.Arrays.fill(acc, 0, n, 0);
      for (int p = 0; p < k; p++) {
        double av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        int bo = p * n;
        for (int j = 0; j < n; j++) acc[j] += av * rowB[bo + j];
      }
      int co = cOff + i * ldc;
      for (int j = 0; j < n; j++) c[co + j] = alpha * acc[j] + (beta == 0 ? 0 : beta * c[co + j]);
    }
  }

  /** op(B) as a dense row-major k × n array (float64 path). */
  static double[] packRows(boolean transB, int n, int k, double[] b, int bOff, int ldb, Scratch s) {
    if (s.rowB.length < k * n) s.rowB = new double[k * n];
    for (int p = 0; p < k; p++) {
      for (int j = 0; j < n; j++) s.rowB[p * n + j] = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
    }
    return s.rowB;
  }
}
