package capi.engine;

/**
 * A flat buffer of {@link #length()} elements of one {@link DType}, allocated by a {@link Backend}.
 * Layers see only lengths and dtypes; shapes travel as arguments of the primitives. A view shares
 * its parent's memory (and dtype).
 */
public interface Tensor {
  long length();

  DType dtype();
}
