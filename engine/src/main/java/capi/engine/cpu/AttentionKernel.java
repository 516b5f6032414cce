package capi.engine.cpu;

import capi.engine.AttentionShape;

/**
 * Attention of one (sample, head) pair at a time, in cache: the scores (nq × nk) live in a
 * per-thread scratch row, the stash keeps the probabilities P (B, H, nq, nk) for the backward.
 * Pairs write disjoint columns of the outputs, so threads split them freely.
 *
 * <pre>
 *   forward:  S = scale·q kᵀ, P = softmax(S) per row, o = P v
 *   backward: dv = Pᵀ dO, dP = dO vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dq = scale·dS k, dk = scale·dSᵀ q
 * </pre>
 */
final class AttentionKernel {
  private AttentionKernel() {}

  /** Per-thread rows: scores or probabilities of one query (and their gradients). */
  static final class Scratch {
    float[] f = new float[0];
    float[] g = new float[0];
    double[] d = new double[0];
    double[] e = new double[0];

    void ensure(int n) {
      if (f.length < n) {
        f = new float[n];
        g = new float[n];
        d = new double[n];
        e = new double[n];
      }
    }
  }

  private static int row(int r, int ld, int h, int headDim) {
    return r * ld + h * headDim;
  }

  // ---- float32 ------------------------------------------------------------------------------------

  static void forward(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor out,
      CpuTensor stash, Scratch sc) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    float scale = (float) s.scale();
    sc.ensure(nk);
    float[] p = sc.f;
    for (int i = 0; i < nq; i++) {
      int qo = q.off + row(b * nq + i, s.ldq(), h, d);
      for (int j = 0; j < nk; j++) p[j] = Vec.dot(q.f, qo, k.f, k.off + row(b * nk + j, s.ldkv(), h, d), d);
      float max = Vec.max(p, 0, nk);
      float sum = Vec.expSum(p, 0, scale, scale * max, p, 0, nk);
      Vec.scale(1 / sum, p, 0, p, 0, nk);
      if (stash != null) System.arraycopy(p, 0, stash.f, stash.off + ((pair * nq) + i) * nk, nk);
      int oo = out.off + row(b * nq + i, w, h, d);
      java.util.Arrays.fill(out.f, oo, oo + d, 0);
      for (int j = 0; j < nk; j++) Vec.axpy(p[j], v.f, v.off + row(b * nk + j, s.ldkv(), h, d), out.f, oo, d);
    }
  }

  static void backward(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor stash,
      CpuTensor dOut, CpuTensor dq, CpuTensor dk, CpuTensor dv, Scratch sc) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    float scale = (float) s.scale();
    sc.ensure(nk);
    float[] dp = sc.f, ds = sc.g;
    for (int j = 0; j < nk; j++) {
      int kj = row(b * nk + j, s.ldkv(), h, d);
      java.util.Arrays.fill(dk.f, dk.off + kj, dk.off + kj + d, 0);
      java.util.Arrays.fill(dv.f, dv.off + kj, dv.off + kj + d, 0);
    }
    for (int i = 0; i < nq; i++) {
      int po = stash.off + (pair * nq + i) * nk;
      int go = dOut.off + row(b * nq + i, w, h, d);
      float rowDot = 0;
      for (int j = 0; j < nk; j++) {
        int kj = row(b * nk + j, s.ldkv(), h, d);
        float pij = stash.f[po + j];
        dp[j] = Vec.dot(dOut.f, go, v.f, v.off + kj, d);
        Vec.axpy(pij, dOut.f, go, dv.f, dv.off + kj, d);
        rowDot += pij * dp[j];
      }
      for (int j = 0; j < nk; j++) ds[j] = scale * stash.f[po + j] * (dp[j] - rowDot);
      int qi = row(b * nq + i, s.ldq(), h, d);
      java.util.Arrays.fill(dq.f, dq.off + qi, dq.off + qi + d, 0);
      for (int j = 0; j < nk; j++) {
        int kj = row(b * nk + j, s.ldkv(), h, d);
        Vec.axpy(ds[j], k.f, k.off + kj, dq.f, dq.off + qi, d);
        Vec.axpy(ds[j], q.f, q.off + qi, dk.f, dk.off + kj, d);
      }
    }
  }

  // ---- float64 (checks) -------------------------------------------------------------------------------

  static void forward64(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor out,
      CpuTensor stash, Scratch sc) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    sc.ensure(nk);
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
    sc.ensure(nk);
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
