package capi.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products on Java arrays, C ← alpha·op(A)·op(B) + beta·C, row-major with leading
 * dimensions (BLAS semantics).
 *
 * <p>float32 follows GotoBLAS: op(B) is packed per KC × NC block into panels of NR columns, op(A)
 * per MC × KC block into strips of MR rows (zero padded), and a register-blocked micro-kernel of
 * MR × NR accumulators ({@link #MR} rows × 3 vectors) runs over the packed data with fused
 * multiply-adds, so every C element is the same k-ordered sum whatever the thread split: results
 * do not depend on the number of threads. Threads split the rows of C (or its columns when there
 * are few rows); each packs its own panels.
 *
 * <p>float64 (checks, not speed) packs op(B) row-major and accumulates rows of C in order.
 */
final class Gemm {
  static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  static final int L = S.length();
  static final int MR = 6;
  static final int NV = 3;
  static final int NR = NV * L;
  private static final int KC = 256;
  private static final int MC = 20 * MR;
  private static final int NC = 1536;

  private Gemm() {}

  /** Per-thread packing buffers and a tile. */
  static final class Scratch {
    float[] a = new float[MC * KC];
    float[] b = new float[KC * (NC + NR)];
    final float[] tile = new float[MR * NR];
    double[] rowB = new double[0];
    double[] acc = new double[0];
  }

  /** One product on rows [m0, m1) and columns [n0, n1) of C. */
  static void sgemm(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k, float alpha,
      float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc, Scratch s) {
    for (int jc = n0; jc < n1; jc += NC) {
      int nc = Math.min(NC, n1 - jc);
      int panels = (nc + NR - 1) / NR;
      for (int pc = 0; pc < k; pc += KC) {
        int kc = Math.min(KC, k - pc);
        packB(transB, b, bOff, ldb, pc, kc, jc, nc, s.b);
        boolean first = pc == 0;
        for (int ic = m0; ic < m1; ic += MC) {
          int mc = Math.min(MC, m1 - ic);
          packA(transA, a, aOff, lda, ic, mc, pc, kc, s.a);
          int strips = (mc + MR - 1) / MR;
          for (int jp = 0; jp < panels; jp++) {
            int cols = Math.min(NR, nc - jp * NR);
            for (int ip = 0; ip < strips; ip++) {
              int rows = Math.min(MR, mc - ip * MR);
              kernel(s.a, ip * kc * MR, s.b, jp * kc * NR, kc, alpha, first ? beta : 1f, c,
                  cOff + (ic + ip * MR) * ldc + jc + jp * NR, ldc, rows, cols, s.tile);
            }
          }
        }
      }
    }
    if (k == 0) scaleC(m0, m1, n0, n1, beta, c, cOff, ldc);
  }

  private static void scaleC(int m0, int m1, int n0, int n1, float beta, float[] c, int cOff, int ldc) {
    for (int i = m0; i < m1; i++) {
      for (int j = n0; j < n1; j++) c[cOff + i * ldc + j] = beta == 0 ? 0 : beta * c[cOff + i * ldc + j];
    }
  }

  /** Packs op(B)[pc, pc + kc) × [jc, jc + nc) into panels of NR columns: bp[(panel·kc + p)·NR + j]. */
  private static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc, float[] bp) {
    int panels = (nc + NR - 1) / NR;
    for (int jp = 0; jp < panels; jp++) {
      int j0 = jc + jp * NR, cols = Math.min(NR, nc - jp * NR), base = jp * kc * NR;
      for (int p = 0; p < kc; p++) {
        int o = base + p * NR;
        if (!transB) {
          System.arraycopy(b, bOff + (pc + p) * ldb + j0, bp, o, cols);
        } else {
          for (int j = 0; j < cols; j++) bp[o + j] = b[bOff + (j0 + j) * ldb + pc + p];
        }
        for (int j = cols; j < NR; j++) bp[o + j] = 0;
      }
    }
  }

  /** Packs op(A)[ic, ic + mc) × [pc, pc + kc) into strips of MR rows: ap[(strip·kc + p)·MR + r]. */
  private static void packA(boolean transA, float[] a, int aOff, int lda, int ic, int mc, int pc, int kc, float[] ap) {
    int strips = (mc + MR - 1) / MR;
    for (int ip = 0; ip < strips; ip++) {
      int base = ip * kc * MR;
      for (int r = 0; r < MR; r++) {
        int i = ip * MR + r;
        if (i >= mc) {
          for (int p = 0; p < kc; p++) ap[base + p * MR + r] = 0;
        } else if (!transA) {
          int src = aOff + (ic + i) * lda + pc;
          for (int p = 0; p < kc; p++) ap[base + p * MR + r] = a[src + p];
        } else {
          int src = aOff + pc * lda + ic + i;
          for (int p = 0; p < kc; p++) ap[base + p * MR + r] = a[src + p * lda];
        }
      }
    }
  }

  /**
   * MR × NR tile: C ← alpha·Ap·Bp + beta·C on its rows × cols valid part (beta 0: C not read).
   * The accumulation is branch-free and passes no vector across a call (C2 keeps the 18
   * accumulators in registers only when everything inlines); the tile goes through a scratch row
   * block to {@link #update}.
   */
  private static void kernel(float[] ap, int ao, float[] bp, int bo, int kc, float alpha, float beta, float[] c, int co,
      int ldc, int rows, int cols, float[] tile) {
    FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    FloatVector c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
    for (int p = 0; p < kc; p++) {
      int bi = bo + p * NR, ai = ao + p * MR;
      FloatVector b0 = FloatVector.fromArray(S, bp, bi);
      FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
      FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L);
      FloatVector x = FloatVector.broadcast(S, ap[ai]);
      c00 = b0.fma(x, c00);
      c01 = b1.fma(x, c01);
      c02 = b2.fma(x, c02);
      x = FloatVector.broadcast(S, ap[ai + 1]);
      c10 = b0.fma(x, c10);
      c11 = b1.fma(x, c11);
      c12 = b2.fma(x, c12);
      x = FloatVector.broadcast(S, ap[ai + 2]);
      c20 = b0.fma(x, c20);
      c21 = b1.fma(x, c21);
      c22 = b2.fma(x, c22);
      x = FloatVector.broadcast(S, ap[ai + 3]);
      c30 = b0.fma(x, c30);
      c31 = b1.fma(x, c31);
      c32 = b2.fma(x, c32);
      x = FloatVector.broadcast(S, ap[ai + 4]);
      c40 = b0.fma(x, c40);
      c41 = b1.fma(x, c41);
      c42 = b2.fma(x, c42);
      x = FloatVector.broadcast(S, ap[ai + 5]);
      c50 = b0.fma(x, c50);
      c51 = b1.fma(x, c51);
      c52 = b2.fma(x, c52);
    }
    c00.intoArray(tile, 0);
    c01.intoArray(tile, L);
    c02.intoArray(tile, 2 * L);
    c10.intoArray(tile, NR);
    c11.intoArray(tile, NR + L);
    c12.intoArray(tile, NR + 2 * L);
    c20.intoArray(tile, 2 * NR);
    c21.intoArray(tile, 2 * NR + L);
    c22.intoArray(tile, 2 * NR + 2 * L);
    c30.intoArray(tile, 3 * NR);
    c31.intoArray(tile, 3 * NR + L);
    c32.intoArray(tile, 3 * NR + 2 * L);
    c40.intoArray(tile, 4 * NR);
    c41.intoArray(tile, 4 * NR + L);
    c42.intoArray(tile, 4 * NR + 2 * L);
    c50.intoArray(tile, 5 * NR);
    c51.intoArray(tile, 5 * NR + L);
    c52.intoArray(tile, 5 * NR + 2 * L);
    update(tile, alpha, beta, c, co, ldc, rows, cols);
  }

  /** C[r, j] ← alpha·tile[r, j] + beta·C[r, j] on rows × cols (whole vectors where they fit). */
  private static void update(float[] tile, float alpha, float beta, float[] c, int co, int ldc, int rows, int cols) {
    int full = cols - cols % L;
    for (int r = 0; r < rows; r++) {
      int t = r * NR, o = co + r * ldc;
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
