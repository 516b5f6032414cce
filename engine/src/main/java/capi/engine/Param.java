package capi.engine;

/**
 * One named parameter: a window of its model's flat buffers: values (master dtype), gradients
 * (master, null for the teacher) and the compute copy matrix products read (the values
 * themselves unless the precision's compute dtype differs).
 */
final class Param {
  final String name;
  final int[] shape;
  final long offset;
  final long length;
  Tensor value;
  Tensor grad; // null when the model has no gradients (the teacher)
  Tensor compute;
  double[] host; // frozen parameters (RoPE frequencies): the values as last set from the host

  Param(String name, int[] shape, long offset) {
    this.name = name;
    this.shape = shape.clone();
    this.offset = offset;
    long n = 1;
    for (int s : shape) n *= s;
    this.length = n;
  }

  /** A parameter covering consecutive parameters (a fused q/k/v weight); not saved on its own. */
  Param(String name, long offset, long length) {
    this.name = name;
    this.shape = new int[] {(int) length};
    this.offset = offset;
    this.length = length;
  }
}
