package capi.data;

import capi.config.BadConfigException;
import capi.config.CapiConfig;
import com.typesafe.config.Config;

/**
 * What a batch looks like: image size and channels, the patch grid, and the masking counts of
 * CAPI_SPEC.md §2: M = floor(N·maskRatio) masked, V = N − M visible, P = floor(M·subsampling) predicted.
 */
public record BatchShape(
    int height, int width, int channels, int patchSize, double maskRatio, double predictionSubsampling) {

  public BatchShape {
    if (channels != 1 && channels != 3) throw BadConfigException.of("capi.model.in-channels", channels, "must be 1 or 3");
    if (patchSize <= 0 || height % patchSize != 0 || width % patchSize != 0) {
      throw BadConfigException.of("capi.model.patch-size", patchSize,
          "must divide capi.model.image-height (" + height + ") and image-width (" + width + ")");
    }
  }

  /** Reads capi.model.* (image-height, image-width, in-channels, patch-size, mask-ratio, prediction-subsampling). */
  public static BatchShape from(Config c) {
    String m = "capi.model.";
    return new BatchShape(
        CapiConfig.positiveInt(c, m + "image-height"),
        CapiConfig.positiveInt(c, m + "image-width"),
        CapiConfig.positiveInt(c, m + "in-channels"),
        CapiConfig.positiveInt(c, m + "patch-size"),
        CapiConfig.doubleIn(c, m + "mask-ratio", 0, 0.999),
        CapiConfig.doubleIn(c, m + "prediction-subsampling", 0, 1));
  }

  public int gridHeight() {
    return height / patchSize;
  }

  public int gridWidth() {
    return width / patchSize;
  }

  /** N: patches per image. */
  public int patches() {
    return gridHeight() * gridWidth();
  }

  /** M = floor(N·maskRatio), as the reference's int(n_tokens * mask_ratio). */
  public int masked() {
    return (int) (patches() * maskRatio);
  }

  /** V = N − M. */
  public int visible() {
    return patches() - masked();
  }

  /** P = floor(M·predictionSubsampling). */
  public int predicted() {
    return (int) (masked() * predictionSubsampling);
  }

  /** Floats of one image: C·H·W. */
  int imageFloats() {
    return channels * height * width;
  }
}
