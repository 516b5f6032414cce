package capi.eval;

/** Per-feature standardisation (x - mean) / std with statistics of the data it was fitted on. */
final class Standardizer {
  private final float[] mean; // (dim)
  private final float[] invStd; // (dim); 1 for constant features, which then become 0

  private Standardizer(float[] mean, float[] invStd) {
    this.mean = mean;
    this.invStd = invStd;
  }

  static Standardizer fit(FeatureSet data) {
    int d = data.dim(), n = data.size();
    double[] sum = new double[d], sq = new double[d];
    float[] x = data.values();
    for (int r = 0; r < n; r++) {
      for (int j = 0; j < d; j++) {
        double v = x[r * d + j];
        sum[j] += v;
        sq[j] += v * v;
      }
    }
    float[] mean = new float[d], invStd = new float[d];
    for (int j = 0; j < d; j++) {
      double m = sum[j] / n;
      double var = Math.max(0, sq[j] / n - m * m);
      mean[j] = (float) m;
      invStd[j] = var > 1e-12 ? (float) (1 / Math.sqrt(var)) : 1f;
    }
    return new Standardizer(mean, invStd);
  }

  /** A standardised copy of {@code data}. */
  FeatureSet apply(FeatureSet data) {
    int d = data.dim();
    float[] x = data.values(), y = new float[x.length];
    for (int r = 0; r < data.size(); r++) {
      for (int j = 0; j < d; j++) y[r * d + j] = (x[r * d + j] - mean[j]) * invStd[j];
    }
    return new FeatureSet(y, d, data.labels(), data.classes());
  }
}
