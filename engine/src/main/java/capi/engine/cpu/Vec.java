package capi.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised float32 loops over array windows (the preferred vector width, a scalar tail), the
 * building blocks of the CPU kernels.
 *
 * <p>Determinism: the Vector API computes an operation either with a CPU instruction (compiled
 * code) or lane by lane in Java (before the JIT gets there), and a result must not depend on
 * which. Every operation used here is exact in IEEE arithmetic either way (add, mul, div, fma,
 * sqrt, min/max, compares, reinterpretation, fixed rearrangements); lane sums are a fixed tree
 * ({@link #sumLanes}) instead of reduceLanes(ADD), and exp and log are polynomials written with
 * those operations ({@link #exp}, {@link #entropy}) instead of lanewise(EXP/LOG), whose intrinsic
 * and Java fallback differ in the last bits.
 *
 * <p>Inlining: C2 keeps vectors in registers only when every method they pass through is inlined,
 * and it refuses to inline a callee already compiled to much code, or into a large method. So no
 * vector crosses a call except into the tiny {@link #sumLanes}: every vector loop lives in a small
 * array-level method, and the exp code exists once ({@link #exp}).
 */
final class Vec {
  static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  static final int L = S.length();
  private static final float SQRT_HALF = (float) Math.sqrt(0.5);
  private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));
  // Erf.fast's coefficients: erf(c) ≈ c·P(c²)/Q(c²)
  private static final float P0 = 1.1283789765806527f, P1 = 0.19625090232966233f, P2 = 0.053467644483523716f;
  private static final float P3 = 0.004003700851958041f, P4 = 2.880380604568314e-4f, P5 = 1.9747592318319906e-6f;
  private static final float Q1 = 0.507253993852263f, Q2 = 0.11647714018813311f, Q3 = 0.015444540468507325f;
  private static final float Q4 = 0.0012163642877254608f, Q5 = 3.747993984569431e-5f;

  // lane i ↔ lane i ^ k: the steps of the sum tree
  private static final VectorShuffle<Float> SWAP_8 = VectorShuffle.fromOp(S, i -> i ^ Math.min(8, L / 2));
  private static final VectorShuffle<Float> SWAP_4 = VectorShuffle.fromOp(S, i -> i ^ Math.min(4, L / 2));
  private static final VectorShuffle<Float> SWAP_2 = VectorShuffle.fromOp(S, i -> i ^ Math.min(2, L / 2));
  private static final VectorShuffle<Float> SWAP_1 = VectorShuffle.fromOp(S, i -> i ^ 1);
  // exp: x = n·ln 2 + r, e^r by Cephes' expf polynomial, 2^n by the exponent bits
  private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
  private static final float ROUNDER = 12582912f; // 1.5·2^23: adding it rounds to an integer in the low bits
  private static final float EXP_MIN = -87.33f, EXP_MAX = 88.72f;
  private static final float E0 = 1.9875691500e-4f, E1 = 1.3981999507e-3f, E2 = 8.3334519073e-3f;
  private static final float E3 = 4.1665795894e-2f, E4 = 1.6666665459e-1f, E5 = 5.0000001201e-1f;
  // log: p = m·2^e with m in [√½, √2), log m by Cephes' logf polynomial
  private static final float[] LOG_P = {7.0376836292e-2f, -1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f,
      1.4249322787e-1f, -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};

  private Vec() {}

  /** The sum of the lanes by a fixed tree (lane i + lane i^8, then ^4, ^2, ^1): the same in every mode. */
  private static float sumLanes(FloatVector v) {
    if (L > 8) v = v.add(v.rearrange(SWAP_8));
    if (L > 4) v = v.add(v.rearrange(SWAP_4));
    if (L > 2) v = v.add(v.rearrange(SWAP_2));
    if (L > 1) v = v.add(v.rearrange(SWAP_1));
    return v.lane(0);
  }

  /**
   * y ← e^(scale·x − shift) over n elements (y may be x), within about 2 ulp; 0 below −87.33
   * (where floats turn subnormal), +∞ above 88.72, NaN stays NaN. The only copy of the exp code:
   * x = k·ln 2 + r, e^r by Cephes' expf polynomial, 2^k by the exponent bits.
   */
  static void exp(float[] x, int xo, float scale, float shift, float[] y, int yo, int n) {
    int i = 0;
    for (; i <= n - L; i += L) {
      FloatVector v = FloatVector.fromArray(S, x, xo + i).mul(scale).sub(shift);
      FloatVector xc = v.max(EXP_MIN).min(EXP_MAX);
      FloatVector t = xc.fma(LOG2E, ROUNDER); // ROUNDER + round(x·log2 e)
      FloatVector k = t.sub(ROUNDER);
      FloatVector r = k.fma(FloatVector.broadcast(S, -LN2_HI), xc).add(k.mul(-LN2_LO));
      FloatVector p = r.fma(E0, E1).fma(r, FloatVector.broadcast(S, E2)).fma(r, FloatVector.broadcast(S, E3))
          .fma(r, FloatVector.broadcast(S, E4)).fma(r, FloatVector.broadcast(S, E5));
      FloatVector er = p.mul(r.mul(r)).add(r).add(1f);
      IntVector bits = (IntVector) t.reinterpretAsInts();
      FloatVector pow2 = bits.sub(Float.floatToRawIntBits(ROUNDER) - 127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
      FloatVector e = er.mul(pow2).blend(FloatVector.zero(S), v.compare(VectorOperators.LT, EXP_MIN));
      e.blend(FloatVector.broadcast(S, Float.POSITIVE_INFINITY), v.compare(VectorOperators.GT, EXP_MAX)).intoArray(y, yo + i);
    }
    for (; i < n; i++) y[yo + i] = (float) Math.exp(scale * x[xo + i] - shift);
  }

  /**
   * In place on p[po, po + np) (np a whole number of vectors, n ≤ np real entries): the first n
   * become softmax(scale·p), the rest 0.
   */
  static void softmaxPadded(float[] p, int po, int n, int np, float scale) {
    FloatVector minusInf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), max = minusInf;
    for (int j = 0; j < np; j += L) {
      FloatVector x = FloatVector.fromArray(S, p, po + j).blend(minusInf, S.indexInRange(j, n).not());
      x.intoArray(p, po + j);
      max = max.max(x);
    }
    exp(p, po, scale, max.reduceLanes(VectorOperators.MAX) * scale, p, po, np);
    scale(1 / sum(p, po, np), p, po, p, po, np);
  }

  /** Σ t·(scale·z − shift) over n elements (the cross-entropy's target-weighted logits). */
  static float dotShifted(float[] t, int to, float[] z, int zo, float scale, float shift, int n) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i <= n - L; i += L) {
      acc = FloatVector.fromArray(S, z, zo + i).mul(scale).sub(shift).fma(FloatVector.fromArray(S, t, to + i), acc);
    }
    float s = sumLanes(acc);
    for (; i < n; i++) s += t[to + i] * (scale * z[zo + i] - shift);
    return s;
  }

  /**
   * −Σ p·log p over n elements; entries below the smallest normal float count as 0 (like 0·log 0).
   * log p: p = m·2^e with m in [√½, √2), log m by Cephes' logf polynomial.
   */
  static float entropy(float[] p, int po, int n) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i <= n - L; i += L) {
      FloatVector v = FloatVector.fromArray(S, p, po + i);
      IntVector bits = (IntVector) v.reinterpretAsInts();
      IntVector e = bits.lanewise(VectorOperators.ASHR, 23).sub(127);
      FloatVector m = bits.and(0x007FFFFF).or(0x3F800000).reinterpretAsFloats(); // [1, 2)
      var big = m.compare(VectorOperators.GT, 1.41421356f);
      m = m.blend(m.mul(0.5f), big);
      FloatVector ef = (FloatVector) e.convert(VectorOperators.I2F, 0);
      ef = ef.blend(ef.add(1f), big);
      FloatVector f = m.sub(1f), z = f.mul(f);
      FloatVector y = FloatVector.broadcast(S, LOG_P[0]);
      for (int c = 1; c < LOG_P.length; c++) y = y.fma(f, FloatVector.broadcast(S, LOG_P[c]));
      y = y.mul(f).mul(z);
      y = ef.fma(FloatVector.broadcast(S, LN2_LO), y).sub(z.mul(0.5f));
      FloatVector log = f.add(y).add(ef.mul(LN2_HI));
      acc = acc.add(v.mul(log).blend(FloatVector.zero(S), v.compare(VectorOperators.LT, Float.MIN_NORMAL)));
    }
    float s = sumLanes(acc);
    for (; i < n; i++) if (p[po + i] >= Float.MIN_NORMAL) s += p[po + i] * (float) Math.log(p[po + i]);
    return -s;
  }

  /** y ← exp(scale·(x − shift) + offset) and sums += y, over n elements (one Sinkhorn row). */
  static void expShiftedRow(float[] x, int xo, float[] shift, int so, float scale, float offset, float[] y, int yo,
      float[] sums, int co, int n) {
    int i = 0;
    for (; i <= n - L; i += L) {
      FloatVector.fromArray(S, x, xo + i).sub(FloatVector.fromArray(S, shift, so + i)).intoArray(y, yo + i);
    }
    for (; i < n; i++) y[yo + i] = x[xo + i] - shift[so + i];
    exp(y, yo, scale, -offset, y, yo, n);
    axpy(1, y, yo, sums, co, n);
  }

  /** e ← k·(e·p − t) over n elements: the cross-entropy gradient from exp(z/τ − max) and its inverse sum p. */
  static void softmaxGradient(float[] e, int eo, float p, float[] t, int to, float k, int n) {
    int j = 0;
    for (; j <= n - L; j += L) {
      FloatVector.fromArray(S, e, eo + j).mul(p).sub(FloatVector.fromArray(S, t, to + j)).mul(k).intoArray(e, eo + j);
    }
    for (; j < n; j++) e[eo + j] = k * (e[eo + j] * p - t[to + j]);
  }

  /** ds ← scale·p ⊙ (dp − rowDot) over n elements (a row of the softmax backward). */
  static void softmaxBackwardRow(float[] p, int po, float[] dp, int dpo, float rowDot, float scale, float[] ds, int dso,
      int n) {
    int j = 0;
    for (; j <= n - L; j += L) {
      FloatVector.fromArray(S, dp, dpo + j).sub(rowDot).mul(FloatVector.fromArray(S, p, po + j)).mul(scale).intoArray(ds, dso + j);
    }
    for (; j < n; j++) ds[dso + j] = scale * p[po + j] * (dp[dpo + j] - rowDot);
  }

  /** x ← x·w element-wise over n elements; returns Σ of the result. */
  static float mulSum(float[] x, int xo, float[] w, int wo, int n) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i <= n - L; i += L) {
      FloatVector v = FloatVector.fromArray(S, x, xo + i).mul(FloatVector.fromArray(S, w, wo + i));
      v.intoArray(x, xo + i);
      acc = acc.add(v);
    }
    float s = sumLanes(acc);
    for (; i < n; i++) s += x[xo + i] *= w[wo + i];
    return s;
  }

  static float dot(float[] a, int ao, float[] b, int bo, int n) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i <= n - L; i += L) acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
    float s = sumLanes(acc);
    for (; i < n; i++) s += a[ao + i] * b[bo + i];
    return s;
  }

  static float sumSquares(float[] a, int ao, int n) {
    return dot(a, ao, a, ao, n);
  }

  static float sum(float[] a, int ao, int n) {
    FloatVector acc = FloatVector.zero(S);
    int i = 0;
    for (; i <= n - L; i += L) acc = acc.add(FloatVector.fromArray(S, a, ao + i));
    float s = sumLanes(acc);
    for (; i < n; i++) s += a[ao + i];
    return s;
  }

  static float max(float[] a, int ao, int n) {
    FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
    int i = 0;
    for (; i <= n - L; i += L) acc = acc.max(FloatVector.fromArray(S, a, ao + i));
    float m = acc.reduceLanes(VectorOperators.MAX);
    for (; i < n; i++) m = Math.max(m, a[ao + i]);
    return m;
  }

  /** y += alpha·x. */
  static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
    FloatVector a = FloatVector.broadcast(S, alpha);
    int i = 0;
    for (; i <= n - L; i += L) {
      FloatVector.fromArray(S, x, xo + i).fma(a, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
    }
    for (; i < n; i++) y[yo + i] += alpha * x[xo + i];
  }

  /** y ← alpha·x. */
  static void scale(float alpha, float[] x, int xo, float[] y, int yo, int n) {
    int i = 0;
    for (; i <= n - L; i += L) FloatVector.fromArray(S, x, xo + i).mul(alpha).intoArray(y, yo + i);
    for (; i < n; i++) y[yo + i] = alpha * x[xo + i];
  }

  static void fill(float[] y, int yo, int n, float value) {
    java.util.Arrays.fill(y, yo, yo + n, value);
  }

  /** y ← exp(scale·x − shift) (y may be x); returns Σ y. */
  static float expSum(float[] x, int xo, float scale, float shift, float[] y, int yo, int n) {
    exp(x, xo, scale, shift, y, yo, n);
    return sum(y, yo, n);
  }


  /** Elements per pass of the GELU loops: Φ of a block goes through a scratch row of this size. */
  static final int GELU_BLOCK = 512;

  /**
   * out ← Φ(x) = 0.5·(1 + erf(x/√2)) on n ≤ {@link #GELU_BLOCK} elements, with {@link Erf#fast}'s
   * rational fit erf(c) ≈ c·P(c²)/Q(c²), c clamped to ±4, in float32 arithmetic.
   */
  static void cdf(float[] x, int xo, float[] out, int n) {
    int i = 0;
    for (; i <= n - L; i += L) {
      FloatVector c = FloatVector.fromArray(S, x, xo + i).mul(SQRT_HALF).max(-4f).min(4f), t = c.mul(c);
      FloatVector p = t.fma(P5, P4).fma(t, FloatVector.broadcast(S, P3)).fma(t, FloatVector.broadcast(S, P2))
          .fma(t, FloatVector.broadcast(S, P1)).fma(t, FloatVector.broadcast(S, P0));
      FloatVector q = t.fma(Q5, Q4).fma(t, FloatVector.broadcast(S, Q3)).fma(t, FloatVector.broadcast(S, Q2))
          .fma(t, FloatVector.broadcast(S, Q1)).fma(t, FloatVector.broadcast(S, 1f));
      c.mul(p).div(q).add(1f).mul(0.5f).intoArray(out, i);
    }
    for (; i < n; i++) out[i] = (float) (0.5 * (1 + Erf.fast(x[xo + i] * SQRT_HALF)));
  }

  /** y ← x·Φ(x) (tmp: a scratch row of {@link #GELU_BLOCK}). */
  static void gelu(float[] x, int xo, float[] y, int yo, int n, float[] tmp) {
    for (int b = 0; b < n; b += GELU_BLOCK) {
      int m = Math.min(GELU_BLOCK, n - b);
      cdf(x, xo + b, tmp, m);
      int i = 0;
      for (; i <= m - L; i += L) {
        FloatVector.fromArray(S, x, xo + b + i).mul(FloatVector.fromArray(S, tmp, i)).intoArray(y, yo + b + i);
      }
      for (; i < m; i++) y[yo + b + i] = x[xo + b + i] * tmp[i];
    }
  }

  /** dx ← dy·(Φ(x) + x·φ(x)) (dx may be dy; tmp: a scratch row of 2·{@link #GELU_BLOCK}). */
  static void geluBackward(float[] x, int xo, float[] dy, int dyo, float[] dx, int dxo, int n, float[] tmp) {
    for (int b = 0; b < n; b += GELU_BLOCK) {
      int m = Math.min(GELU_BLOCK, n - b);
      cdf(x, xo + b, tmp, m);
      int i = 0;
      for (; i <= m - L; i += L) { // −x²/2, for φ
        FloatVector v = FloatVector.fromArray(S, x, xo + b + i);
        v.mul(v).mul(-0.5f).intoArray(tmp, GELU_BLOCK + i);
      }
      for (; i < m; i++) tmp[GELU_BLOCK + i] = -0.5f * x[xo + b + i] * x[xo + b + i];
      exp(tmp, GELU_BLOCK, 1, 0, tmp, GELU_BLOCK, m);
      i = 0;
      for (; i <= m - L; i += L) {
        FloatVector v = FloatVector.fromArray(S, x, xo + b + i);
        FloatVector pdf = FloatVector.fromArray(S, tmp, GELU_BLOCK + i).mul(INV_SQRT_2PI);
        FloatVector.fromArray(S, dy, dyo + b + i).mul(v.fma(pdf, FloatVector.fromArray(S, tmp, i))).intoArray(dx, dxo + b + i);
      }
      for (; i < m; i++) dx[dxo + b + i] = dy[dyo + b + i] * (tmp[i] + x[xo + b + i] * INV_SQRT_2PI * tmp[GELU_BLOCK + i]);
    }
  }


}
