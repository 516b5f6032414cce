package capi.engine;

/** A float32 tensor under a name, as checkpoints and exports hold it: C order, {@code shape} dims. */
public record NamedTensor(String name, int[] shape, float[] data) {}
