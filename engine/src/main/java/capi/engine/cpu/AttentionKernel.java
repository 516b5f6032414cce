package capi.engine.cpu;

import capi.engine.AttentionShape;
import jdk.incubator.vector.FloatVector;

/**
 * Attention of one (sample, head) pair at a time, in cache: the pair's keys (values in the
 * backward) are transposed into a per-thread block so that a row of scores is broadcast
 * multiply-adds over whole vectors of keys (no lane sums), padded to whole vectors with −∞ scores;
 * sums over keys or queries accumulate whole rows of head channels. The stash keeps the
 * probabilities P (B, H, nq, nk) for the backward. Pairs write disjoint columns of the outputs, so
 * threads split them freely.
 *
 * <pre>
 *   forward:  S = scale·q kᵀ, P = softmax(S) per row, o = P v
 *   backward: dv = Pᵀ dO, dP = dO vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dq = scale·dS k, dk = scale·dSᵀ q
 * </pre>
 */
final class AttentionKernel {
  private AttentionKernel() {}

  /** Per-thread scratch: a transposed key or value block (headDim × padded nk), score rows, dS. */
  static final class Scratch {
    float[] t = new float[0]; // (headDim, nkp): k or v of one pair, transposed, zero padded
    float[] p = new float[0]; // (nkp): one row of scores / probabilities
    float[] g = new float[0]; // (nkp): one row of dP
    float[] ds = new float[0]; // (nq, nkp): dS of one pair
    float[] pp = new float[0]; // (nq, nkp): P of one pair, padded
    double[] d = new double[0];
    double[] e = new double[0];

    void ensure(int headDim, int nq, int nkp) {
      if (t.length < headDim * nkp) t = new float[headDim * nkp];
      if (p.length < nkp) {
        p = new float[nkp];
        g = new float[nkp];
        d = new double[nkp];
        e = new double[nkp];
      }
      if (ds.length < nq * nkp) {
        ds = new float[nq * nkp];
        pp = new float[nq * nkp];
      }
    }
  }

  private static int row(int r, int ld, int h, int headDim) {
    return r * ld + h * headDim;
  }

  /** nk rounded up to whole vectors. */
  private static int padded(int nk) {
    return (nk + Vec.L - 1) / Vec.L * Vec.L;
  }

  /** t[c·nkp + j] ← x[row(b·nk + j), c] for the pair's head; 0 for j ≥ nk. */
  private static void transpose(CpuTensor x, int ld, int b, int h, int d, int nk, int nkp, float[] t) {
    java.util.Arrays.fill(t, 0, d * nkp, 0);
    for (int j = 0; j < nk; j++) {
      int o = x.off + row(b * nk + j, ld, h, d);
      for (int c = 0; c < d; c++) t[c * nkp + j] = x.f[o + c];
    }
  }

  /** out[0, nkp) ← Σ_c a[ao + c]·t[c, :] (vectorised over the keys, no lane sums). */
  private static void rowTimes(float[] a, int ao, float[] t, int d, int nkp, float[] out) {
    for (int j = 0; j < nkp; j += Vec.L) {
      FloatVector acc = FloatVector.zero(Vec.S);
      for (int c = 0; c < d; c++) acc = FloatVector.fromArray(Vec.S, t, c * nkp + j).fma(FloatVector.broadcast(Vec.S, a[ao + c]), acc);
      acc.intoArray(out, j);
    }
  }

  /** y[yo, yo + d) ← Σ_i w[wo + i·ws]·x[row i of x, head h] over n rows (x row i at xo + i·ld). */
  private static void combine(float[] w, int wo, int ws, int n, float[] x, int xo, int ld, int d, float[] y, int yo) {
    int c = 0;
    for (; c <= d - Vec.L; c += Vec.L) {
      FloatVector acc = FloatVector.zero(Vec.S);
      for (int i = 0; i < n; i++) acc = FloatVector.fromArray(Vec.S, x, xo + i * ld + c).fma(FloatVector.broadcast(Vec.S, w[wo + i * ws]), acc);
      acc.intoArray(y, yo + c);
    }
    for (; c < d; c++) {
      float acc = 0;
      for (int i = 0; i < n; i++) acc += w[wo + i * ws] * x[xo + i * ld + c];
      y[yo + c] = acc;
    }
  }

  // ---- float32 ------------------------------------------------------------------------------------

  static void forward(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor out,
      CpuTensor stash, Scratch sc) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    int nkp = padded(nk);
    float scale = (float) s.scale();
    sc.ensure(d, nq, nkp);
    float[] p = sc.p;
    transpose(k, s.ldkv(), b, h, d, nk, nkp, sc.t);
    for (int i = 0; i < nq; i++) {
      rowTimes(q.f, q.off + row(b * nq + i, s.ldq(), h, d), sc.t, d, nkp, p);
      Vec.softmaxPadded(p, nk, nkp, scale); // padded keys get probability 0
      if (stash != null) System.arraycopy(p, 0, stash.f, stash.off + (pair * nq + i) * nk, nk);
      combine(p, 0, 1, nk, v.f, v.off + row(b * nk, s.ldkv(), h, d), s.ldkv(), d, out.f, out.off + row(b * nq + i, w, h, d));
    }
  }

  static void backward(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor stash,
      CpuTensor dOut, CpuTensor dq, CpuTensor dk, CpuTensor dv, Scratch sc) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    int nkp = padded(nk);
    float scale = (float) s.scale();
    sc.ensure(d, nq, nkp);
    float[] dp = sc.g, ds = sc.ds, pp = sc.pp;
    transpose(v, s.ldkv(), b, h, d, nk, nkp, sc.t);
    for (int i = 0; i < nq; i++) {
      int po = i * nkp;
      System.arraycopy(stash.f, stash.off + (pair * nq + i) * nk, pp, po, nk);
      java.util.Arrays.fill(pp, po + nk, po + nkp, 0);
      rowTimes(dOut.f, dOut.off + row(b * nq + i, w, h, d), sc.t, d, nkp, dp); // dP = dO vᵀ
      float rowDot = Vec.dot(pp, po, dp, 0, nkp);
      Vec.softmaxBackwardRow(pp, po, dp, 0, rowDot, scale, ds, po, nkp); // dS = scale·P ⊙ (dP − Σ P·dP)
    }
    int qo = q.off + row(b * nq, s.ldq(), h, d), ko = k.off + row(b * nk, s.ldkv(), h, d);
    int go = dOut.off + row(b * nq, w, h, d);
    for (int i = 0; i < nq; i++) { // dq_i = Σ_j dS_ij k_j
      combine(ds, i * nkp, 1, nk, k.f, ko, s.ldkv(), d, dq.f, dq.off + row(b * nq + i, s.ldq(), h, d));
    }
    for (int j = 0; j < nk; j++) { // dk_j = Σ_i dS_ij q_i, dv_j = Σ_i P_ij dO_i
      combine(ds, j, nkp, nq, q.f, qo, s.ldq(), d, dk.f, dk.off + row(b * nk + j, s.ldkv(), h, d));
      combine(pp, j, nkp, nq, dOut.f, go, w, d, dv.f, dv.off + row(b * nk + j, s.ldkv(), h, d));
    }
  }

  // ---- float64 (checks) -------------------------------------------------------------------------------

  static void forward64(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor out,
      CpuTensor stash, Scratch sc) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    sc.ensure(d, nq, padded(nk));
    double[] p = sc.d;
    for (int i = 0; i < nq; i++) {
      int qo = q.off + row(b * nq + i, s.ldq(), h, d);
      double max = Double.NEGATIVE_INFINITY, sum = 0;
      for (int j = 0; j < nk; j++) {
        int ko = k.off + row(b * nk + j, s.ldkv(), h, d);
        double dot = 0;
        for (int c = 0; c < d; c++) dot += q.d[qo + c] * k.d[ko + c];
        p[j] = s.scale() * dot;
        max = Math.max(max, p[j]);
      }
      for (int j = 0; j < nk; j++) sum += p[j] = Math.exp(p[j] - max);
      for (int j = 0; j < nk; j++) p[j] /= sum;
      if (stash != null) System.arraycopy(p, 0, stash.d, stash.off + (pair * nq + i) * nk, nk);
      int oo = out.off + row(b * nq + i, w, h, d);
      for (int c = 0; c < d; c++) {
        double o = 0;
        for (int j = 0; j < nk; j++) o += p[j] * v.d[v.off + row(b * nk + j, s.ldkv(), h, d) + c];
        out.d[oo + c] = o;
      }
    }
  }

  static void backward64(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor stash,
      CpuTensor dOut, CpuTensor dq, CpuTensor dk, CpuTensor dv, Scratch sc) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    sc.ensure(d, nq, padded(nk));
    double[] dp = sc.d, ds = sc.e;
    for (int j = 0; j < nk; j++) {
      int kj = row(b * nk + j, s.ldkv(), h, d);
      java.util.Arrays.fill(dk.d, dk.off + kj, dk.off + kj + d, 0);
      java.util.Arrays.fill(dv.d, dv.off + kj, dv.off + kj + d, 0);
    }
    for (int i = 0; i < nq; i++) {
      int po = stash.off + (pair * nq + i) * nk, go = dOut.off + row(b * nq + i, w, h, d);
      int qi = row(b * nq + i, s.ldq(), h, d);
      double rowDot = 0;
      for (int j = 0; j < nk; j++) {
        int kj = row(b * nk + j, s.ldkv(), h, d);
        double pij = stash.d[po + j], g = 0;
        for (int c = 0; c < d; c++) {
          g += dOut.d[go + c] * v.d[v.off + kj + c];
          dv.d[dv.off + kj + c] += pij * dOut.d[go + c];
        }
        dp[j] = g;
        rowDot += pij * g;
      }
      for (int j = 0; j < nk; j++) ds[j] = s.scale() * stash.d[po + j] * (dp[j] - rowDot);
      for (int c = 0; c < d; c++) {
        double g = 0;
        for (int j = 0; j < nk; j++) g += ds[j] * k.d[k.off + row(b * nk + j, s.ldkv(), h, d) + c];
        dq.d[dq.off + qi + c] = g;
      }
      for (int j = 0; j < nk; j++) {
        int kj = row(b * nk + j, s.ldkv(), h, d);
        for (int c = 0; c < d; c++) dk.d[dk.off + kj + c] += ds[j] * q.d[q.off + qi + c];
      }
    }
  }
}
