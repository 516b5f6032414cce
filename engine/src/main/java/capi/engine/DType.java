package capi.engine;

/**
 * Element type of a {@link Tensor}. Floating types hold model numbers; I32 holds index sets (row
 * numbers, flat patch indices); U8 holds image pixels as uploaded (0..255, unsigned).
 */
public enum DType {
  F32(4),
  F64(8),
  /** bfloat16: float32's sign and exponent, 7 mantissa bits; rounding to it is to nearest, ties to even. */
  BF16(2),
  I32(4),
  U8(1);

  private final int bytes;

  DType(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  public boolean isFloat() {
    return this == F32 || this == F64 || this == BF16;
  }

  /** x rounded to bfloat16 (nearest, ties to even; NaN stays NaN), as a float. */
  public static float roundToBf16(float x) {
    if (Float.isNaN(x)) return x;
    int bits = Float.floatToRawIntBits(x);
    int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
    return Float.intBitsToFloat(rounded & 0xFFFF0000);
  }
}
