package capi.eval;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Weighted k-nearest-neighbour classifier on cosine similarity, as in DINO: each of the k most
 * similar training rows votes for its label with weight exp(similarity / temperature).
 */
public final class KnnProbe {
  private static final int TEST_BLOCK = 128; // (128, n_train) similarities at a time

  private final int k;
  private final double temperature;

  public KnnProbe(int k, double temperature) {
    if (k <= 0) throw new IllegalArgumentException("k must be positive: " + k);
    if (!(temperature > 0)) throw new IllegalArgumentException("temperature must be positive: " + temperature);
    this.k = k;
    this.temperature = temperature;
  }

  /** Top-1 accuracy on {@code test} of the neighbours found in {@code train}. */
  public double top1(FeatureSet train, FeatureSet test) {
    return test.accuracy(predict(train, test));
  }

  /** The predicted class of every test row. */
  public int[] predict(FeatureSet train, FeatureSet test) {
    if (train.dim() != test.dim()) {
      throw new IllegalArgumentException("train dim " + train.dim() + " != test dim " + test.dim());
    }
    int d = train.dim(), nTrain = train.size(), nTest = test.size();
    int kk = Math.min(k, nTrain);
    Matmul.Tiled trainT = Matmul.Tiled.of(unitRows(train.values(), d), nTrain, d, true); // (d, n_train)
    float[] queries = unitRows(test.values(), d); // (n_test, d)
    int[] predicted = new int[nTest];
    float[] sims = new float[TEST_BLOCK * nTrain]; // (block, n_train)
    float[] block = new float[TEST_BLOCK * d];
    for (int t0 = 0; t0 < nTest; t0 += TEST_BLOCK) {
      int rows = Math.min(TEST_BLOCK, nTest - t0);
      System.arraycopy(queries, t0 * d, block, 0, rows * d);
      Matmul.multiply(block, rows, trainT, sims);
      int base = t0;
      IntStream.range(0, rows).parallel().forEach(
          r -> predicted[base + r] = vote(sims, r * nTrain, nTrain, kk, train.labels(), train.classes()));
    }
    return predicted;
  }

  /** The class with the largest exp(sim/T) mass among the kk most similar rows. */
  private int vote(float[] sims, int offset, int n, int kk, int[] labels, int classes) {
    float[] topSim = new float[kk]; // descending
    int[] topIdx = new int[kk];
    Arrays.fill(topSim, Float.NEGATIVE_INFINITY);
    for (int j = 0; j < n; j++) {
      float s = sims[offset + j];
      if (s <= topSim[kk - 1]) continue;
      int pos = kk - 1;
      while (pos > 0 && topSim[pos - 1] < s) {
        topSim[pos] = topSim[pos - 1];
        topIdx[pos] = topIdx[pos - 1];
        pos--;
      }
      topSim[pos] = s;
      topIdx[pos] = j;
    }
    double[] votes = new double[classes];
    for (int i = 0; i < kk; i++) votes[labels[topIdx[i]]] += Math.exp(topSim[i] / temperature);
    return argmax(votes);
  }

  static int argmax(double[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
    return best;
  }

  /** Copy of x (n, d) with every row scaled to unit L2 norm (zero rows stay zero). */
  private static float[] unitRows(float[] x, int d) {
    float[] u = new float[x.length];
    for (int r = 0; r < x.length / d; r++) {
      double sq = 0;
      for (int j = 0; j < d; j++) sq += (double) x[r * d + j] * x[r * d + j];
      float inv = (float) (1.0 / Math.max(Math.sqrt(sq), 1e-12));
      for (int j = 0; j < d; j++) u[r * d + j] = x[r * d + j] * inv;
    }
    return u;
  }
}
