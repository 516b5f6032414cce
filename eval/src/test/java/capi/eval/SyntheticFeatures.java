package capi.eval;

import java.util.Random;

/** Labelled features whose classes are separable: one random direction per class plus noise. */
final class SyntheticFeatures {
  private SyntheticFeatures() {}

  /** n rows of width dim; row i has class i % classes; centres are shared across seeds of one layout. */
  static FeatureSet clusters(int n, int dim, int classes, double noise, long seed) {
    Random layout = new Random(1234);
    double[][] centre = new double[classes][dim];
    for (double[] c : centre) for (int j = 0; j < dim; j++) c[j] = layout.nextGaussian();
    Random random = new Random(seed);
    float[] x = new float[n * dim];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % classes;
      for (int j = 0; j < dim; j++) x[i * dim + j] = (float) (centre[y[i]][j] + noise * random.nextGaussian());
    }
    return new FeatureSet(x, dim, y, classes);
  }
}
