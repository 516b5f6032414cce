package capi.collective;

import org.agrona.UnsafeAccess;

/**
 * How a ring (RingAllReduce) writes float32 values into its chunks: {@link #FP32} as they are, or
 * {@link #BF16}, the upper half of each float32 rounded to nearest even, which halves the bytes on
 * the wire. Ranks always accumulate in float32: a received bf16 value is widened and added into the
 * float32 buffer. With bf16 the owner of a reduced segment rounds it to bf16 precision as the
 * all-gather sends it, so every rank ends with the same bits. All ranks of a ring must agree (each
 * chunk names its format: ChunkHeader).
 *
 * <p>bf16 payload of a chunk of c values starting at buffer index f, k = ceil(c / 2) words of 4
 * bytes: word j holds value f + j in its low half and value f + k + j in its high half (zero when
 * f + k + j is past the chunk). Pairing values half a chunk apart, instead of neighbours, keeps
 * every loop unit-stride over int arrays, which C2 turns into vector instructions; the receiver
 * knows c from the segment it expects ({@link #values}).
 */
public enum WireFormat {
  FP32(Float.BYTES),
  BF16(2);

  /** Bytes of one value on the wire. */
  final int bytes;

  WireFormat(int bytes) {
    this.bytes = bytes;
  }

  /** Payload bytes of a chunk of {@code values} values. */
  int payloadBytes(int values) {
    return this == FP32 ? values * Float.BYTES : (values + 1) / 2 * Float.BYTES;
  }

  /**
   * Values in a chunk of {@code payloadBytes} that continues a segment with {@code left} values
   * still to come (a bf16 chunk's last word may carry one value: the segment's odd last one); a
   * chunk is well-formed when {@link #payloadBytes} of the result is its payload's length.
   */
  int values(int payloadBytes, int left) {
    return Math.min(maxValues(payloadBytes), left);
  }

  /** The most values a payload of {@code payloadBytes} holds (even for bf16). */
  int maxValues(int payloadBytes) {
    return payloadBytes / Float.BYTES * (Float.BYTES / bytes);
  }

  /** A codec for chunks of at most {@code maxValues} values (one per ring: it owns scratch arrays). */
  Codec codec(int maxValues) {
    return this == FP32 ? new Fp32() : new Bf16(maxValues);
  }

  /** Moves values between a float32 buffer and chunk payloads; all addresses off-heap. Used by one thread. */
  abstract static class Codec {
    static final sun.misc.Unsafe MEMORY = UnsafeAccess.UNSAFE;

    /** Writes {@code values} float32 values at {@code from} as a payload at {@code to}. */
    abstract void encode(long from, long to, int values);

    /**
     * As encode, and leaves at {@code from} exactly what the payload carries (the owner's segment
     * before the all-gather: every rank must end with the same bits).
     */
    abstract void encodeAndRound(long from, long to, int values);

    /** Writes a payload's {@code values} values at {@code from} as float32 at {@code to}. */
    abstract void decode(long from, long to, int values);

    /** float32 to[i] = to[i] (op) value i of the payload at {@code from}. */
    abstract void combine(ReduceOp op, long from, long to, int values);
  }

  private static final class Fp32 extends Codec {
    @Override
    void encode(long from, long to, int values) {
      MEMORY.copyMemory(from, to, (long) values * Float.BYTES);
    }

    @Override
    void encodeAndRound(long from, long to, int values) {
      encode(from, to, values);
    }

    @Override
    void decode(long from, long to, int values) {
      MEMORY.copyMemory(from, to, (long) values * Float.BYTES);
    }

    @Override
    void combine(ReduceOp op, long from, long to, int values) {
      op.combine(from, to, values * Float.BYTES);
    }
  }

  /**
   * bf16 through int and float arrays on the heap (a chunk's worth, in cache): the payload's two
   * halves (low: values [0, k), high: [k, c)) are separate arrays, so every loop is a plain
   * element-wise one.
   */
  private static final class Bf16 extends Codec {
    private static final long INTS = MEMORY.arrayBaseOffset(int[].class);
    private static final long FLOATS = MEMORY.arrayBaseOffset(float[].class);
    private final int[] words;
    private final int[] low;
    private final int[] high;
    private final float[] lowValues;
    private final float[] highValues;
    private final float[] lowSums;
    private final float[] highSums;

    Bf16(int maxValues) {
      int k = (maxValues + 1) / 2;
      words = new int[k];
      low = new int[k];
      high = new int[k];
      lowValues = new float[k];
      highValues = new float[k];
      lowSums = new float[k];
      highSums = new float[k];
    }

    @Override
    void encode(long from, long to, int values) {
      int k = load(from, values);
      for (int j = 0; j < k; j++) words[j] = (round(low[j]) >>> 16) | (round(high[j]) & 0xffff_0000);
      MEMORY.copyMemory(words, INTS, null, to, (long) k * Float.BYTES);
    }

    @Override
    void encodeAndRound(long from, long to, int values) {
      int k = load(from, values);
      for (int j = 0; j < k; j++) {
        low[j] = round(low[j]) & 0xffff_0000;
        high[j] = round(high[j]) & 0xffff_0000;
        words[j] = (low[j] >>> 16) | high[j];
      }
      MEMORY.copyMemory(words, INTS, null, to, (long) k * Float.BYTES);
      store(from, values);
    }

    @Override
    void decode(long from, long to, int values) {
      unpack(from, values);
      store(to, values);
    }

    @Override
    void combine(ReduceOp op, long from, long to, int values) {
      int k = unpack(from, values);
      int highCount = values - k;
      MEMORY.copyMemory(low, INTS, lowValues, FLOATS, (long) k * Float.BYTES); // the bits, as floats
      MEMORY.copyMemory(high, INTS, highValues, FLOATS, (long) highCount * Float.BYTES);
      MEMORY.copyMemory(null, to, lowSums, FLOATS, (long) k * Float.BYTES);
      MEMORY.copyMemory(null, to + (long) k * Float.BYTES, highSums, FLOATS, (long) highCount * Float.BYTES);
      if (op == ReduceOp.MAX) {
        for (int j = 0; j < k; j++) lowSums[j] = Math.max(lowSums[j], lowValues[j]);
        for (int j = 0; j < highCount; j++) highSums[j] = Math.max(highSums[j], highValues[j]);
      } else {
        for (int j = 0; j < k; j++) lowSums[j] += lowValues[j];
        for (int j = 0; j < highCount; j++) highSums[j] += highValues[j];
      }
      MEMORY.copyMemory(lowSums, FLOATS, null, to, (long) k * Float.BYTES);
      MEMORY.copyMemory(highSums, FLOATS, null, to + (long) k * Float.BYTES, (long) highCount * Float.BYTES);
    }

    /** Copies the float32 bits at {@code from} into low and high (high's last zero when values is odd); k. */
    private int load(long from, int values) {
      int k = (values + 1) / 2;
      MEMORY.copyMemory(null, from, low, INTS, (long) k * Float.BYTES);
      MEMORY.copyMemory(null, from + (long) k * Float.BYTES, high, INTS, (long) (values - k) * Float.BYTES);
      if (values % 2 != 0) high[k - 1] = 0;
      return k;
    }

    /** The payload at {@code from} widened into low and high; k. */
    private int unpack(long from, int values) {
      int k = (values + 1) / 2;
      MEMORY.copyMemory(null, from, words, INTS, (long) k * Float.BYTES);
      for (int j = 0; j < k; j++) {
        low[j] = words[j] << 16;
        high[j] = words[j] & 0xffff_0000;
      }
      return k;
    }

    /** Writes low and high as {@code values} float32 at {@code to}. */
    private void store(long to, int values) {
      int k = (values + 1) / 2;
      MEMORY.copyMemory(low, INTS, null, to, (long) k * Float.BYTES);
      MEMORY.copyMemory(high, INTS, null, to + (long) k * Float.BYTES, (long) (values - k) * Float.BYTES);
    }
  }

  /**
   * float32 bits rounded to bf16 precision, nearest and ties to even (the low 16 bits are garbage:
   * callers keep the high half). Branch-free, so that C2 vectorizes the loops around it: a NaN (m =
   * -1) gets no rounding increment, which could carry it into infinity, and its quiet bit.
   */
  static int round(int bits) {
    int nan = ((bits & 0x7fff_ffff) + 0x007f_ffff) >> 31;
    return (bits + ((0x7fff + ((bits >>> 16) & 1)) & ~nan)) | (nan & 0x0040_0000);
  }
}
