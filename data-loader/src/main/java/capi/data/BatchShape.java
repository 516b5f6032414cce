package capi.data;

import capi.config.BadConfigException;
import capi.config.Keys;
import capi.config.ModelConfig;

/**
 * What a batch looks like: image size and channels, the patch grid, and the masking counts of
 * docs/ALGORITHM.md §2: M = floor(N·maskRatio) masked, V = N − M visible, P = floor(M·subsampling) predicted.
 */
public record BatchShape(
    int height, int width, int channels, int patchSize, double maskRatio, double predictionSubsampling) {

  public BatchShape {
    if (channels != 1 && channels != 3) {
      throw BadConfigException.of(Keys.MODEL_IN_CHANNELS, channels, "must be 1 or 3 (grey or colour images)");
    }
    if (patchSize <= 0 || height % patchSize != 0 || width % patchSize != 0) {
      throw new IllegalArgumentException("patch size " + patchSize + " must divide the image size " + height + " x " + width);
    }
  }

  /** The model's image size, channels, patch size and masking ratios. */
  public static BatchShape of(ModelConfig m) {
    return new BatchShape(m.imageHeight(), m.imageWidth(), m.inChannels(), m.patchSize(), m.maskRatio(),
        m.predictionSubsampling());
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
    return ModelConfig.maskedOf(patches(), maskRatio);
  }

  /** V = N − M. */
  public int visible() {
    return patches() - masked();
  }

  /** P = floor(M·predictionSubsampling). */
  public int predicted() {
    return ModelConfig.predictedOf(masked(), predictionSubsampling);
  }

  /** Pixels of one image: C·H·W. */
  int imagePixels() {
    return channels * height * width;
  }
}
