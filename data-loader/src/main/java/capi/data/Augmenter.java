package capi.data;

import capi.config.BadConfigException;
import capi.config.DataConfig;
import capi.config.Keys;
import java.util.SplittableRandom;

/**
 * One view of one image (docs/ALGORITHM.md §4.5): RandomResizedCrop to the model's size with bicubic
 * resampling, horizontal flip, conversion to the model's channels, and mean/std normalisation.
 */
final class Augmenter {
  private static final double[] LUMA = {0.299, 0.587, 0.114}; // ITU-R 601, as PIL's convert("L")

  private final BatchShape shape;
  private final RandomResizedCrop crop;
  private final double flipProbability;
  private final float[] mean;
  private final float[] std;

  Augmenter(BatchShape shape, DataConfig config) {
    this.shape = shape;
    this.crop = new RandomResizedCrop(
        config.cropScaleMin(), config.cropScaleMax(), config.cropAspectMin(), config.cropAspectMax());
    this.flipProbability = config.flipProbability();
    this.mean = perChannel(config.mean(), Keys.DATA_MEAN, shape.channels());
    this.std = perChannel(config.std(), Keys.DATA_STD, shape.channels());
  }

  private static float[] perChannel(double[] values, String key, int channels) {
    if (values.length != 1 && values.length != channels) {
      throw BadConfigException.of(key, java.util.Arrays.toString(values),
          "needs 1 value or one per channel (capi.model.in-channels = " + channels + ")");
    }
    float[] out = new float[channels];
    for (int c = 0; c < channels; c++) out[c] = (float) values[values.length == 1 ? 0 : c];
    return out;
  }

  /** Writes the (C, H, W) view of img at dst[offset...]; draws crop then flip from r. */
  void apply(RawImage img, SplittableRandom r, float[] dst, int offset) {
    RandomResizedCrop.Box box = crop.sample(r, img.height(), img.width());
    boolean flip = r.nextDouble() < flipProbability;
    int outH = shape.height();
    int outW = shape.width();
    int channels = shape.channels();
    Resampler.Taps tx = Resampler.taps(box.left(), box.width(), outW);
    Resampler.Taps ty = Resampler.taps(box.top(), box.height(), outH);
    float[] source = new float[img.width()]; // one source row in the model's channel, [0, 1]
    float[] rows = new float[box.height() * outW]; // horizontally resampled crop rows (crop h, W)
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < box.height(); y++) {
        sourceRow(img, box.top() + y, box.left(), box.left() + box.width(), c, channels, source);
        for (int x = 0; x < outW; x++) {
          double[] w = tx.weights()[x];
          int first = tx.first()[x];
          double s = 0;
          for (int k = 0; k < w.length; k++) s += w[k] * source[first + k];
          rows[y * outW + (flip ? outW - 1 - x : x)] = (float) s;
        }
      }
      int plane = offset + c * outH * outW;
      for (int y = 0; y < outH; y++) {
        double[] w = ty.weights()[y];
        int first = ty.first()[y] - box.top();
        for (int x = 0; x < outW; x++) {
          double s = 0;
          for (int k = 0; k < w.length; k++) s += w[k] * rows[(first + k) * outW + x];
          // Clamp as PIL does when it stores the resampled 8-bit image, then normalise.
          float v = (float) Math.min(1, Math.max(0, s));
          dst[plane + y * outW + x] = (v - mean[c]) / std[c];
        }
      }
    }
  }

  /** Columns [from, to) of row y of channel c in the model's colour space, scaled to [0, 1]. */
  private static void sourceRow(RawImage img, int y, int from, int to, int c, int channels, float[] out) {
    for (int x = from; x < to; x++) {
      float v;
      if (img.channels() == channels) {
        v = img.at(y, x, c);
      } else if (channels == 3) { // grey source, colour model: replicate
        v = img.at(y, x, 0);
      } else { // colour source, grey model: luma
        v = (float) (LUMA[0] * img.at(y, x, 0) + LUMA[1] * img.at(y, x, 1) + LUMA[2] * img.at(y, x, 2));
      }
      out[x] = v / 255f;
    }
  }
}
