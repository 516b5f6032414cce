package capi.engine;

/**
 * One step's local batch: images (B, C, H, W); visibleIndices (B·V) flat into the B·N patch grid,
 * sorted within an image; predictIndices (B·P) likewise, in any order within an image.
 */
public record StepInput(int batch, float[] images, int[] visibleIndices, int[] predictIndices) {}
