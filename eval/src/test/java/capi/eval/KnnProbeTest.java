package capi.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class KnnProbeTest {
  @Test
  void recoversLabelsOfSeparableClusters() {
    FeatureSet train = SyntheticFeatures.clusters(2000, 32, 10, 0.5, 1);
    FeatureSet test = SyntheticFeatures.clusters(500, 32, 10, 0.5, 2);
    assertTrue(new KnnProbe(20, 0.07).top1(train, test) > 0.99);
  }

  @Test
  void noiseOnlyFeaturesScoreNearChance() {
    FeatureSet train = SyntheticFeatures.clusters(2000, 32, 10, 0.5, 1);
    FeatureSet test = SyntheticFeatures.clusters(1000, 32, 10, 0.5, 2);
    // Same features, labels shifted by one row: no relation between feature and label.
    int[] shuffled = new int[train.size()];
    for (int i = 0; i < shuffled.length; i++) shuffled[i] = train.labels()[(i * 7 + 3) % shuffled.length];
    FeatureSet unrelated = new FeatureSet(train.values(), train.dim(), shuffled, 10);
    assertTrue(new KnnProbe(20, 0.07).top1(unrelated, test) < 0.2);
  }

  @Test
  void votesAreWeightedBySimilarity() {
    // Query along x. One very close row of class 0, two farther rows of class 1: a plain majority
    // of k = 3 says 1; exp(sim / 0.07) weights say 0. With T = 10 the weights are nearly equal.
    float[] x = {
      (float) Math.cos(0.05), (float) Math.sin(0.05),
      (float) Math.cos(0.6), (float) Math.sin(0.6),
      (float) Math.cos(-0.6), (float) Math.sin(-0.6),
    };
    FeatureSet train = new FeatureSet(x, 2, new int[] {0, 1, 1}, 2);
    FeatureSet query = new FeatureSet(new float[] {3f, 0f}, 2, new int[] {0}, 2);
    assertArrayEquals(new int[] {0}, new KnnProbe(3, 0.07).predict(train, query));
    assertArrayEquals(new int[] {1}, new KnnProbe(3, 10).predict(train, query));
    // k = 1 looks at the nearest row only; k larger than the train split uses all rows.
    assertArrayEquals(new int[] {0}, new KnnProbe(1, 10).predict(train, query));
    assertArrayEquals(new int[] {1}, new KnnProbe(50, 10).predict(train, query));
  }

  @Test
  void similarityIsCosineSoScaleDoesNotMatter() {
    FeatureSet train = SyntheticFeatures.clusters(600, 16, 3, 1.0, 3);
    FeatureSet test = SyntheticFeatures.clusters(200, 16, 3, 1.0, 4);
    float[] scaled = test.values().clone();
    for (int i = 0; i < scaled.length; i++) scaled[i] *= 1 + (i / 16) % 5;
    FeatureSet rescaled = new FeatureSet(scaled, 16, test.labels(), 3);
    KnnProbe knn = new KnnProbe(20, 0.07);
    assertArrayEquals(knn.predict(train, test), knn.predict(train, rescaled));
    assertEquals(knn.top1(train, test), test.accuracy(knn.predict(train, test)));
  }
}
