package capi.data;

/**
 * Separable bicubic resampling (a = −0.5, the kernel of PIL's BICUBIC) with antialiasing: when
 * shrinking, the kernel is stretched by the scale factor, as PIL and torchvision (antialias=True) do.
 */
final class Resampler {
  private static final double SUPPORT = 2;
  private static final double A = -0.5;

  /** Taps of every output sample along one axis: first source index and normalised weights. */
  record Taps(int[] first, double[][] weights) {}

  private Resampler() {}

  /** Taps mapping in source samples [offset, offset+in) onto out samples. */
  static Taps taps(int offset, int in, int out) {
    double scale = (double) in / out;
    double filterScale = Math.max(scale, 1);
    double support = SUPPORT * filterScale;
    int[] first = new int[out];
    double[][] weights = new double[out][];
    for (int o = 0; o < out; o++) {
      double center = (o + 0.5) * scale;
      int lo = Math.max(0, (int) (center - support + 0.5));
      int hi = Math.min(in, (int) (center + support + 0.5));
      double[] w = new double[hi - lo];
      double sum = 0;
      for (int i = lo; i < hi; i++) {
        w[i - lo] = cubic((i - center + 0.5) / filterScale);
        sum += w[i - lo];
      }
      for (int i = 0; i < w.length; i++) w[i] /= sum;
      first[o] = offset + lo;
      weights[o] = w;
    }
    return new Taps(first, weights);
  }

  private static double cubic(double x) {
    x = Math.abs(x);
    if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
    return 0;
  }
}
