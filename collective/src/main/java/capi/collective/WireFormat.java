package capi.collective;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.agrona.BufferUtil;
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
 * every loop unit-stride over int lanes: one pass of the Vector API between the float32 buffer and
 * the payload, nothing staged. The receiver knows c from the segment it expects ({@link #values}).
 *
 * <p>Every method takes direct buffers and absolute byte indices (position and limit ignored),
 * both in native byte order; the caller checks the ranges once per chunk.
 */
public enum WireFormat {
  FP32(Float.BYTES) {
    @Override
    void encode(ByteBuffer values, int valuesAt, ByteBuffer payload, int payloadAt, int count) {
      MEMORY.copyMemory(address(values, valuesAt), address(payload, payloadAt), (long) count * Float.BYTES);
    }

    @Override
    void encodeAndRound(ByteBuffer values, int valuesAt, ByteBuffer payload, int payloadAt, int count) {
      encode(values, valuesAt, payload, payloadAt, count);
    }

    @Override
    void decode(ByteBuffer payload, int payloadAt, ByteBuffer values, int valuesAt, int count) {
      MEMORY.copyMemory(address(payload, payloadAt), address(values, valuesAt), (long) count * Float.BYTES);
    }

    @Override
    void combine(ReduceOp op, ByteBuffer payload, int payloadAt, ByteBuffer values, int valuesAt, int count) {
      op.combine(address(payload, payloadAt), address(values, valuesAt), count * Float.BYTES);
    }
  },

  BF16(2) {
    @Override
    void encode(ByteBuffer values, int valuesAt, ByteBuffer payload, int payloadAt, int count) {
      narrow(values, valuesAt, payload, payloadAt, count, false);
    }

    @Override
    void encodeAndRound(ByteBuffer values, int valuesAt, ByteBuffer payload, int payloadAt, int count) {
      narrow(values, valuesAt, payload, payloadAt, count, true);
    }

    @Override
    void decode(ByteBuffer payload, int payloadAt, ByteBuffer values, int valuesAt, int count) {
      widen(null, payload, payloadAt, values, valuesAt, count);
    }

    @Override
    void combine(ReduceOp op, ByteBuffer payload, int payloadAt, ByteBuffer values, int valuesAt, int count) {
      widen(op, payload, payloadAt, values, valuesAt, count);
    }
  };

  private static final sun.misc.Unsafe MEMORY = UnsafeAccess.UNSAFE;
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  private static final int HIGH = 0xffff_0000;

  /** Bytes of one value on the wire. */
  final int bytes;

  WireFormat(int bytes) {
    this.bytes = bytes;
  }

  /** Writes {@code count} float32 values as a payload. */
  abstract void encode(ByteBuffer values, int valuesAt, ByteBuffer payload, int payloadAt, int count);

  /**
   * As encode, and leaves in {@code values} exactly what the payload carries (the owner's segment
   * before the all-gather: every rank must end with the same bits).
   */
  abstract void encodeAndRound(ByteBuffer values, int valuesAt, ByteBuffer payload, int payloadAt, int count);

  /** Writes a payload's {@code count} values as float32. */
  abstract void decode(ByteBuffer payload, int payloadAt, ByteBuffer values, int valuesAt, int count);

  /** float32 values[i] = values[i] (op) value i of the payload. */
  abstract void combine(ReduceOp op, ByteBuffer payload, int payloadAt, ByteBuffer values, int valuesAt, int count);

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

  /**
   * float32 bits rounded to bf16 precision, nearest and ties to even (the low 16 bits are garbage:
   * callers keep the high half). Branch-free like its vector twin below: a NaN (m = -1) gets no
   * rounding increment, which could carry it into infinity, and its quiet bit.
   */
  static int round(int bits) {
    int nan = ((bits & 0x7fff_ffff) + 0x007f_ffff) >> 31;
    return (bits + ((0x7fff + ((bits >>> 16) & 1)) & ~nan)) | (nan & 0x0040_0000);
  }

  private static IntVector round(IntVector bits) {
    IntVector nan = bits.and(0x7fff_ffff).add(0x007f_ffff).lanewise(VectorOperators.ASHR, 31);
    IntVector increment = bits.lanewise(VectorOperators.LSHR, 16).and(1).add(0x7fff).and(nan.not());
    return bits.add(increment).or(nan.and(0x0040_0000));
  }

  /** bf16 encode: word j = value j (low half) and value k + j (high half); keep: write the rounded values back. */
  private static void narrow(ByteBuffer values, int valuesAt, ByteBuffer payload, int payloadAt, int count, boolean keep) {
    int k = (count + 1) / 2;
    int h = count - k; // values in high halves: k, or k - 1 when count is odd
    int highAt = valuesAt + k * Float.BYTES;
    int j = 0;
    for (int end = INTS.loopBound(h); j < end; j += INTS.length()) {
      int at = j * Float.BYTES;
      IntVector low = round(IntVector.fromByteBuffer(INTS, values, valuesAt + at, ORDER)).and(HIGH);
      IntVector high = round(IntVector.fromByteBuffer(INTS, values, highAt + at, ORDER)).and(HIGH);
      low.lanewise(VectorOperators.LSHR, 16).or(high).intoByteBuffer(payload, payloadAt + at, ORDER);
      if (keep) {
        low.intoByteBuffer(values, valuesAt + at, ORDER);
        high.intoByteBuffer(values, highAt + at, ORDER);
      }
    }
    long lowAddress = address(values, valuesAt);
    long highAddress = address(values, highAt);
    long wordAddress = address(payload, payloadAt);
    for (; j < k; j++) {
      long at = (long) j * Float.BYTES;
      int low = round(MEMORY.getInt(lowAddress + at)) & HIGH;
      int high = j < h ? round(MEMORY.getInt(highAddress + at)) & HIGH : 0;
      MEMORY.putInt(wordAddress + at, (low >>> 16) | high);
      if (keep) {
        MEMORY.putInt(lowAddress + at, low);
        if (j < h) MEMORY.putInt(highAddress + at, high);
      }
    }
  }

  /** bf16 decode (op null) or combine: the payload's halves widened to float32 and stored or combined. */
  private static void widen(ReduceOp op, ByteBuffer payload, int payloadAt, ByteBuffer values, int valuesAt, int count) {
    int k = (count + 1) / 2;
    int h = count - k;
    int highAt = valuesAt + k * Float.BYTES;
    int j = 0;
    for (int end = INTS.loopBound(h); j < end; j += INTS.length()) {
      int at = j * Float.BYTES;
      IntVector words = IntVector.fromByteBuffer(INTS, payload, payloadAt + at, ORDER);
      FloatVector low = words.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector high = words.and(HIGH).reinterpretAsFloats();
      if (op != null) {
        low = combine(op, FloatVector.fromByteBuffer(FLOATS, values, valuesAt + at, ORDER), low);
        high = combine(op, FloatVector.fromByteBuffer(FLOATS, values, highAt + at, ORDER), high);
      }
      low.intoByteBuffer(values, valuesAt + at, ORDER);
      high.intoByteBuffer(values, highAt + at, ORDER);
    }
    long lowAddress = address(values, valuesAt);
    long highAddress = address(values, highAt);
    long wordAddress = address(payload, payloadAt);
    for (; j < k; j++) {
      long at = (long) j * Float.BYTES;
      int word = MEMORY.getInt(wordAddress + at);
      MEMORY.putFloat(lowAddress + at, combine(op, MEMORY.getFloat(lowAddress + at), Float.intBitsToFloat(word << 16)));
      if (j < h) {
        MEMORY.putFloat(highAddress + at, combine(op, MEMORY.getFloat(highAddress + at), Float.intBitsToFloat(word & HIGH)));
      }
    }
  }

  private static FloatVector combine(ReduceOp op, FloatVector sum, FloatVector value) {
    return op == ReduceOp.MAX ? sum.max(value) : sum.add(value);
  }

  private static float combine(ReduceOp op, float sum, float value) {
    return op == null ? value : op == ReduceOp.MAX ? Math.max(sum, value) : sum + value;
  }

  private static long address(ByteBuffer buffer, int at) {
    return BufferUtil.address(buffer) + at;
  }
}
