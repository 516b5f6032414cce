package capi.data;

/**
 * One rank's share of one step's global batch, laid out as the golden tensors are.
 *
 * @param batch this rank's B
 * @param images (B, C, H, W) normalised float32
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
    float[] images,
    int[] visibleIndices,
    int[] predictIndices,
    int[] labels) {}
