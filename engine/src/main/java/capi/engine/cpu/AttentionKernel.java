package capi.engine.cpu;

import capi.engine.AttentionShape;

/**
 * Attention of one (sample, head) pair at a time, in cache, its products through {@link Gemm}'s
 * micro-kernel (4 query rows × 64 keys or channels per tile, q, k, v read in place): scores into a
 * per-thread block padded to whole vectors (−∞ beyond the keys), softmax per row, then the
 * weighted values. The stash keeps the probabilities P (B, H, nq, nk) for the backward. Pairs
 * write disjoint columns of the outputs, so threads split them freely.
 *
 * <pre>
 *   forward:  S = q kᵀ, P = softmax(scale·S) per row, o = P v
 *   backward: dP = dO vᵀ, dS = scale·P ⊙ (dP − rowsum(P ⊙ dP)), dq = dS k, dk = dSᵀ q, dv = Pᵀ dO
 * </pre>
 */
final class AttentionKernel {
  private AttentionKernel() {}

  /** Per-thread scratch: blocks (nq × padded nk) of scores or probabilities, dP and dS. */
  static final class Scratch {
    float[] p = new float[0];
    float[] dp = new float[0];
    float[] ds = new float[0];
    double[] d = new double[0];
    double[] e = new double[0];

    void ensure(int nq, int nkp) {
      if (p.length < nq * nkp) {
        p = new float[nq * nkp];
        dp = new float[nq * nkp];
        ds = new float[nq * nkp];
      }
      if (d.length < nkp) {
        d = new double[nkp];
        e = new double[nkp];
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

  // ---- float32 ------------------------------------------------------------------------------------

  static void forward(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor out,
      CpuTensor stash, Scratch sc, Gemm.Scratch gs) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    int nkp = padded(nk);
    sc.ensure(nq, nkp);
    float[] p = sc.p;
    int qo = q.off + row(b * nq, s.ldq(), h, d), ko = k.off + row(b * nk, s.ldkv(), h, d);
    int vo = v.off + row(b * nk, s.ldkv(), h, d), oo = out.off + row(b * nq, w, h, d);
    Gemm.sgemm(false, true, 0, nq, 0, nk, d, 1, q.f, qo, s.ldq(), k.f, ko, s.ldkv(), 0, p, 0, nkp, gs); // S = q kᵀ
    for (int i = 0; i < nq; i++) {
      Vec.softmaxPadded(p, i * nkp, nk, nkp, (float) s.scale()); // padded keys get probability 0
      if (stash != null) System.arraycopy(p, i * nkp, stash.f, stash.off + (pair * nq + i) * nk, nk);
    }
    Gemm.sgemm(false, false, 0, nq, 0, d, nk, 1, p, 0, nkp, v.f, vo, s.ldkv(), 0, out.f, oo, w, gs); // o = P v
  }

  static void backward(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor stash,
      CpuTensor dOut, CpuTensor dq, CpuTensor dk, CpuTensor dv, Scratch sc, Gemm.Scratch gs) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    int nkp = padded(nk);
    float scale = (float) s.scale();
    sc.ensure(nq, nkp);
    float[] p = sc.p, dp = sc.dp, ds = sc.ds;
    int qo = q.off + row(b * nq, s.ldq(), h, d), ko = k.off + row(b * nk, s.ldkv(), h, d);
    int vo = v.off + row(b * nk, s.ldkv(), h, d), go = dOut.off + row(b * nq, w, h, d);
    for (int i = 0; i < nq; i++) {
      System.arraycopy(stash.f, stash.off + (pair * nq + i) * nk, p, i * nkp, nk);
      java.util.Arrays.fill(p, i * nkp + nk, (i + 1) * nkp, 0);
    }
    Gemm.sgemm(false, true, 0, nq, 0, nk, d, 1, dOut.f, go, w, v.f, vo, s.ldkv(), 0, dp, 0, nkp, gs); // dP = dO vᵀ
    for (int i = 0; i < nq; i++) { // dS = scale·P ⊙ (dP − Σ P·dP)
      java.util.Arrays.fill(dp, i * nkp + nk, (i + 1) * nkp, 0);
      float rowDot = Vec.dot(p, i * nkp, dp, i * nkp, nkp);
      Vec.softmaxBackwardRow(p, i * nkp, dp, i * nkp, rowDot, scale, ds, i * nkp, nkp);
    }
    Gemm.sgemm(false, false, 0, nq, 0, d, nk, 1, ds, 0, nkp, k.f, ko, s.ldkv(), 0, dq.f, dq.off + row(b * nq, s.ldq(), h, d),
        s.ldq(), gs); // dq = dS k
    Gemm.sgemm(true, false, 0, nk, 0, d, nq, 1, ds, 0, nkp, q.f, qo, s.ldq(), 0, dk.f, dk.off + row(b * nk, s.ldkv(), h, d),
        s.ldkv(), gs); // dk = dSᵀ q
    Gemm.sgemm(true, false, 0, nk, 0, d, nq, 1, p, 0, nkp, dOut.f, go, w, 0, dv.f, dv.off + row(b * nk, s.ldkv(), h, d),
        s.ldkv(), gs); // dv = Pᵀ dO
  }

  // ---- float64 (checks) -------------------------------------------------------------------------------

  static void forward64(AttentionShape s, int pair, CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor out,
      CpuTensor stash, Scratch sc) {
    int b = pair / s.heads(), h = pair % s.heads(), d = s.headDim(), nq = s.nq(), nk = s.nk(), w = s.width();
    sc.ensure(nq, padded(nk));
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
    sc.ensure(nq, padded(nk));
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
