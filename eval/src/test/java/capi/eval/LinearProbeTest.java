package capi.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class LinearProbeTest {
  private static final double[] LRS = {1e-3, 1e-2};
  private static final double[] WDS = {0, 1e-2};

  private static LinearProbe probe() {
    return new LinearProbe(10, 64, LRS, WDS, 0.1, 42);
  }

  @Test
  void recoversLabelsOfSeparableClusters() {
    FeatureSet train = SyntheticFeatures.clusters(3000, 32, 10, 0.5, 1);
    FeatureSet test = SyntheticFeatures.clusters(500, 32, 10, 0.5, 2);
    LinearProbe.Result r = probe().fit(train, test);
    assertTrue(r.top1() > 0.99, "top1 " + r.top1());
    assertTrue(r.holdoutTop1() > 0.99, "holdout " + r.holdoutTop1());
  }

  @Test
  void learnsALinearRuleThatCosineNeighboursCannot() {
    // Label = which of 4 half-space pairs the row falls in, decided by two coordinates out of 16
    // while the other 14 are large noise: linear, but invisible to a cosine k-NN.
    Random random = new Random(5);
    int n = 4000, d = 16;
    float[] x = new float[n * d];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) x[i * d + j] = (float) (j < 2 ? random.nextGaussian() : 5 * random.nextGaussian());
      y[i] = (x[i * d] > 0 ? 1 : 0) + (x[i * d + 1] > 0 ? 2 : 0);
    }
    FeatureSet all = new FeatureSet(x, d, y, 4);
    FeatureSet train = all.subset(range(0, 3000));
    FeatureSet test = all.subset(range(3000, 4000));
    LinearProbe.Result r = probe().fit(train, test);
    assertTrue(r.top1() > 0.95, "linear top1 " + r.top1());
    assertTrue(new KnnProbe(20, 0.07).top1(train, test) < 0.6);
  }

  @Test
  void reportsAGridPointAndIsDeterministic() {
    FeatureSet train = SyntheticFeatures.clusters(1000, 8, 5, 2.0, 1);
    FeatureSet test = SyntheticFeatures.clusters(300, 8, 5, 2.0, 2);
    LinearProbe.Result a = probe().fit(train, test), b = probe().fit(train, test);
    assertEquals(a, b);
    assertTrue(contains(LRS, a.learningRate()) && contains(WDS, a.weightDecay()), a.toString());
  }

  private static int[] range(int from, int to) {
    int[] r = new int[to - from];
    for (int i = 0; i < r.length; i++) r[i] = from + i;
    return r;
  }

  private static boolean contains(double[] grid, double v) {
    for (double g : grid) if (g == v) return true;
    return false;
  }
}
