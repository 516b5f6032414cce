package capi.cuda;

/** Storage types of device buffers, with the kernels' name suffix and the element size. */
enum DType {
  F32("f32", 4),
  F64("f64", 8),
  BF16("bf16", 2);

  final String suffix;
  final int bytes;

  DType(String suffix, int bytes) {
    this.suffix = suffix;
    this.bytes = bytes;
  }

  static DType ofSuffix(String s) {
    for (DType t : values()) if (t.suffix.equals(s)) return t;
    throw new IllegalArgumentException("no storage type " + s);
  }
}
