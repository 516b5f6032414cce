package capi.data;

import capi.config.BadConfigException;
import capi.config.DataConfig;
import capi.config.Keys;
import java.util.SplittableRandom;

/**
 * One view of one image (docs/ALGORITHM.md §4.5): RandomResizedCrop to the model's size with bicubic
 * resampling, horizontal flip and conversion to the model's channels, stored as 8-bit pixels the
 * way the reference's PIL pipeline stores them: a colour-to-grey conversion and each resampling
 * pass (horizontal, then vertical) round to the nearest integer (halves up, PIL's fixed-point
 * rounding) and clamp to [0, 255]. The mean/std normalisation is the engine's (on the device).
 */
final class Augmenter {
  private final BatchShape shape;
  private final RandomResizedCrop crop;
  private final double flipProbability;

  Augmenter(BatchShape shape, DataConfig config) {
    this.shape = shape;
    this.crop = new RandomResizedCrop(
        config.cropScaleMin(), config.cropScaleMax(), config.cropAspectMin(), config.cropAspectMax());
    this.flipProbability = config.flipProbability();
  }

  /** One value per channel of the model from capi.data.mean or .std (1 value, or one per channel). */
  static double[] perChannel(double[] values, String key, int channels) {
    if (values.length != 1 && values.length != channels) {
      throw BadConfigException.of(key, java.util.Arrays.toString(values),
          "needs 1 value or one per channel (capi.model.in-channels = " + channels + ")");
    }
    double[] out = new double[channels];
    for (int c = 0; c < channels; c++) out[c] = values[values.length == 1 ? 0 : c];
    return out;
  }

  /** Writes the (C, H, W) view of img as 8-bit pixels at dst[offset...]; draws crop then flip from r. */
  void apply(RawImage img, SplittableRandom r, byte[] dst, int offset) {
    RandomResizedCrop.Box box = crop.sample(r, img.height(), img.width());
    boolean flip = r.nextDouble() < flipProbability;
    int outH = shape.height();
    int outW = shape.width();
    int channels = shape.channels();
    Resampler.Taps tx = Resampler.taps(box.left(), box.width(), outW);
    Resampler.Taps ty = Resampler.taps(box.top(), box.height(), outH);
    float[] source = new float[img.width()]; // one source row in the model's channel, 0..255
    float[] rows = new float[box.height() * outW]; // horizontally resampled crop rows (crop h, W), 8-bit values
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < box.height(); y++) {
        sourceRow(img, box.top() + y, box.left(), box.left() + box.width(), c, channels, source);
        for (int x = 0; x < outW; x++) {
          double[] w = tx.weights()[x];
          int first = tx.first()[x];
          double s = 0;
          for (int k = 0; k < w.length; k++) s += w[k] * source[first + k];
          rows[y * outW + (flip ? outW - 1 - x : x)] = quantise(s);
        }
      }
      int plane = offset + c * outH * outW;
      for (int y = 0; y < outH; y++) {
        double[] w = ty.weights()[y];
        int first = ty.first()[y] - box.top();
        for (int x = 0; x < outW; x++) {
          double s = 0;
          for (int k = 0; k < w.length; k++) s += w[k] * rows[(first + k) * outW + x];
          dst[plane + y * outW + x] = (byte) quantise(s);
        }
      }
    }
  }

  /** s stored as a PIL 8-bit value: floor(s + 0.5) clamped to [0, 255]. */
  static int quantise(double s) {
    return (int) Math.min(255, Math.max(0, Math.floor(s + 0.5)));
  }

  /** Columns [from, to) of row y of channel c in the model's colour space, 0..255. */
  private static void sourceRow(RawImage img, int y, int from, int to, int c, int channels, float[] out) {
    for (int x = from; x < to; x++) {
      float v;
      if (img.channels() == channels) {
        v = img.at(y, x, c);
      } else if (channels == 3) { // grey source, colour model: replicate
        v = img.at(y, x, 0);
      } else { // colour source, grey model: PIL's convert("L"), L = (19595·R + 38470·G + 7471·B + 2^15) >> 16
        v = (19595 * img.at(y, x, 0) + 38470 * img.at(y, x, 1) + 7471 * img.at(y, x, 2) + 0x8000) >> 16;
      }
      out[x] = v;
    }
  }
}
