package capi.data;

/**
 * One rank's share of one step's global batch, laid out as the golden tensors are.
 *
 * @param batch this rank's B
 * @param pixels (B, C, H, W) uint8 (read unsigned): the augmented view quantised as PIL stores it
 * @param mean per-channel mean (C) of the normalisation (p/255 − mean)/std the engine applies
 * @param std per-channel standard deviation (C)
 * @param visibleIndices (B·V) flat indices into this rank's B·N patch grid, image-major, sorted within an image
 * @param predictIndices (B·P) flat indices of predicted (masked) patches, random order within an image
 * @param labels (B) class labels, -1 when the dataset has none
 */
public record CapiBatch(
    long step,
    int batch,
    int channels,
    int height,
    int width,
    byte[] pixels,
    double[] mean,
    double[] std,
    int[] visibleIndices,
    int[] predictIndices,
    int[] labels) {

  /** The first {@code images} images normalised on the host as the engine's float32 path does: (p/255 − mean)/std. */
  public float[] normalizedImages(int images) {
    int plane = height * width;
    float[] out = new float[images * channels * plane];
    for (int i = 0; i < out.length; i++) {
      int c = (i / plane) % channels;
      out[i] = ((pixels[i] & 0xFF) / 255f - (float) mean[c]) / (float) std[c];
    }
    return out;
  }
}
