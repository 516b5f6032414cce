package capi.engine;

/**
 * The geometry of one multi-head attention call ({@link Backend#attention}): {@code batch}
 * samples, {@code heads} heads of width {@code headDim}, {@code nq} queries and {@code nk} keys per
 * sample, scores scaled by {@code scale}. Row r of q is query r % nq of sample r / nq and starts
 * {@code r·ldq} elements into q; rows of k and v likewise with {@code ldkv}; head h occupies
 * columns [h·headDim, (h+1)·headDim) of a row. Outputs are contiguous (ld = heads·headDim).
 */
public record AttentionShape(int batch, int heads, int nq, int nk, int headDim, int ldq, int ldkv, double scale) {
  public AttentionShape {
    if (batch < 0 || heads <= 0 || nq <= 0 || nk <= 0 || headDim <= 0) {
      throw new IllegalArgumentException("attention shape " + batch + "×" + heads + "×" + nq + "×" + nk + "×" + headDim);
    }
    if (ldq < heads * headDim || ldkv < heads * headDim) {
      throw new IllegalArgumentException("attention row strides " + ldq + ", " + ldkv + " < " + heads * headDim);
    }
  }

  /** heads·headDim: the width of a row of the output. */
  public int width() {
    return heads * headDim;
  }
}
