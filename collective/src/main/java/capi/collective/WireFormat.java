package capi.collective;

import org.agrona.UnsafeAccess;

/**
 * How a ring (RingAllReduce) writes float32 values into its chunks: {@link #FP32} as they are, or
 * {@link #BF16}, the upper half of each float32 rounded to nearest even, which halves the bytes on
 * the wire. Ranks always accumulate in float32: a received bf16 value is widened and added into the
 * float32 buffer. With bf16 the owner of a reduced segment rounds it to bf16 precision before the
 * all-gather sends it, so every rank ends with the same bits. All ranks of a ring must agree (each
 * chunk names its format: ChunkHeader).
 */
public enum WireFormat {
  FP32(Float.BYTES) {
    @Override
    void encode(long from, long to, int count) {
      MEMORY.copyMemory(from, to, (long) count * Float.BYTES);
    }

    @Override
    void decode(long from, long to, int count) {
      MEMORY.copyMemory(from, to, (long) count * Float.BYTES);
    }

    @Override
    void combine(ReduceOp op, long from, long to, int count) {
      op.combine(from, to, count * Float.BYTES);
    }

    @Override
    void round(long at, int count) {}
  },

  BF16(2) {
    @Override
    void encode(long from, long to, int count) {
      for (int i = 0; i < count; i++) MEMORY.putShort(to + 2L * i, toBf16(MEMORY.getInt(from + 4L * i)));
    }

    @Override
    void decode(long from, long to, int count) {
      for (int i = 0; i < count; i++) MEMORY.putInt(to + 4L * i, MEMORY.getShort(from + 2L * i) << 16);
    }

    @Override
    void combine(ReduceOp op, long from, long to, int count) {
      if (op == ReduceOp.MAX) {
        for (int i = 0; i < count; i++) {
          long at = to + 4L * i;
          MEMORY.putFloat(at, Math.max(MEMORY.getFloat(at), Float.intBitsToFloat(MEMORY.getShort(from + 2L * i) << 16)));
        }
      } else {
        for (int i = 0; i < count; i++) {
          long at = to + 4L * i;
          MEMORY.putFloat(at, MEMORY.getFloat(at) + Float.intBitsToFloat(MEMORY.getShort(from + 2L * i) << 16));
        }
      }
    }

    @Override
    void round(long at, int count) {
      for (int i = 0; i < count; i++) MEMORY.putInt(at + 4L * i, toBf16(MEMORY.getInt(at + 4L * i)) << 16);
    }
  };

  private static final sun.misc.Unsafe MEMORY = UnsafeAccess.UNSAFE;

  /** Bytes of one value on the wire. */
  final int bytes;

  WireFormat(int bytes) {
    this.bytes = bytes;
  }

  /** Writes {@code count} float32 values at {@code from} (off-heap) as this format at {@code to}. */
  abstract void encode(long from, long to, int count);

  /** Writes {@code count} values of this format at {@code from} as float32 at {@code to}. */
  abstract void decode(long from, long to, int count);

  /** float32 to[i] = to[i] (op) from[i] for {@code count} values of this format at {@code from}. */
  abstract void combine(ReduceOp op, long from, long to, int count);

  /** Rounds {@code count} float32 values in place to what this format carries (FP32: nothing to do). */
  abstract void round(long at, int count);

  /**
   * The bf16 bits of a float32's bits: rounded to nearest, ties to even; a NaN stays a (quiet) NaN
   * instead of rounding into infinity, and values beyond bf16's largest finite round to infinity.
   */
  static short toBf16(int bits) {
    if ((bits & 0x7fff_ffff) > 0x7f80_0000) return (short) ((bits >>> 16) | 0x0040);
    return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
  }
}
