package capi.engine;

/**
 * One step's local batch: pixels (B, C, H, W) as uint8 with the per-channel mean and std that
 * normalise them ((p/255 − mean)/std); visibleIndices (B·V) flat into the B·N patch grid, sorted
 * within an image; predictIndices (B·P) likewise, in any order within an image; the seed of the
 * step's drop-path draws.
 */
public record StepInput(int batch, byte[] pixels, double[] mean, double[] std, int[] visibleIndices,
    int[] predictIndices, long dropPathSeed) {}
