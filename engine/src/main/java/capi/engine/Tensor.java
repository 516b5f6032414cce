package capi.engine;

/**
 * A flat buffer of numbers allocated by a {@link Backend}, in the backend's precision. Layers see
 * only lengths; shapes travel as arguments of the primitives. A view shares its parent's memory.
 */
public interface Tensor {
  long length();
}
