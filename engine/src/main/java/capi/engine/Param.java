package capi.engine;

/** One named parameter: a window of its model's flat buffer (and of the gradient buffer). */
final class Param {
  final String name;
  final int[] shape;
  final long offset;
  final long length;
  Tensor value;
  Tensor grad; // null when the model has no gradients (the teacher)

  Param(String name, int[] shape, long offset) {
    this.name = name;
    this.shape = shape.clone();
    this.offset = offset;
    long n = 1;
    for (int s : shape) n *= s;
    this.length = n;
  }
}
