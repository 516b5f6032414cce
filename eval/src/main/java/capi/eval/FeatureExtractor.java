package capi.eval;

import capi.engine.CapiTrainer;
import capi.engine.EvalOutput;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/** Runs the teacher's evaluation forward over every image of a split, batch by batch. */
public final class FeatureExtractor {
  private FeatureExtractor() {}

  /** The requested sources' features of all images, rows in the images' order. */
  public static Map<FeatureSource, FeatureSet> extract(
      CapiTrainer model, EvalImages images, Set<FeatureSource> sources) {
    int n = images.size();
    Map<FeatureSource, float[]> values = new EnumMap<>(FeatureSource.class);
    Map<FeatureSource, Integer> dims = new EnumMap<>(FeatureSource.class);
    int[] labels = new int[n];
    int imagePixels = images.shape().channels() * images.shape().height() * images.shape().width();
    images.forEachBatch((batch, b, offset) -> {
      // The last batch may be partial: the forward sees exactly b images.
      byte[] pixels = batch.pixels();
      byte[] input = pixels.length == b * imagePixels ? pixels : Arrays.copyOf(pixels, b * imagePixels);
      EvalOutput out = model.evalForward(input, batch.mean(), batch.std(), b); // (b, C, H, W) -> features of b images
      for (FeatureSource s : sources) {
        int d = dims.computeIfAbsent(s, k -> k.dim(out));
        s.copyRows(out, b, values.computeIfAbsent(s, k -> new float[n * d]), offset);
      }
      System.arraycopy(batch.labels(), 0, labels, offset, b);
    });
    Map<FeatureSource, FeatureSet> result = new EnumMap<>(FeatureSource.class);
    for (FeatureSource s : sources) {
      result.put(s, new FeatureSet(values.get(s), dims.get(s), labels, images.classes()));
    }
    return result;
  }
}
