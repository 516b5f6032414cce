package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * bf16 on the wire against a reference written another way (compare the dropped half with one
 * half-ulp): rounding to nearest even, special values, the payload layout (value j and value k + j
 * share word j) and the codec's loops over off-heap memory, for even and odd chunks.
 */
class WireFormatTest {
  /** The reference: float32 to bf16 by comparing the dropped low half with 0x8000. */
  static short bf16Bits(float x) {
    int bits = Float.floatToRawIntBits(x);
    int upper = bits >>> 16;
    if (Float.isNaN(x)) return (short) (upper | 0x0040);
    int dropped = bits & 0xffff;
    if (dropped > 0x8000 || (dropped == 0x8000 && (upper & 1) == 1)) upper++;
    return (short) upper;
  }

  /** x rounded to bf16 precision, as a float32. */
  static float bf16(float x) {
    return Float.intBitsToFloat(bf16Bits(x) << 16);
  }

  private static short rounded(float x) {
    return (short) (WireFormat.round(Float.floatToRawIntBits(x)) >>> 16);
  }

  @Test
  void roundsToNearestTiesToEven() {
    assertEquals((short) 0x3f80, rounded(1f));
    assertEquals((short) 0x3f80, rounded(1f + 0x1p-8f), "halfway between 1 and 1+2^-7: to the even 1");
    assertEquals((short) 0x3f82, rounded(1f + 3 * 0x1p-8f), "halfway between 1+2^-7 and 1+2^-6: to the even 1+2^-6");
    assertEquals((short) 0x3f81, rounded(1f + 0x1p-8f + 0x1p-20f), "just above halfway: up");
    assertEquals((short) 0xbf80, rounded(-1f));
    assertEquals((short) 0x8000, rounded(-0f));
    assertEquals((short) 0x0001, rounded(Float.intBitsToFloat(0x0000_8001)), "subnormals round like the rest");
    Random random = new Random(3);
    for (int i = 0; i < 1_000_000; i++) {
      float x = Float.intBitsToFloat(random.nextInt());
      assertEquals(bf16Bits(x), rounded(x), () -> Integer.toHexString(Float.floatToRawIntBits(x)));
    }
  }

  @Test
  void specialValuesStaySpecial() {
    assertEquals((short) 0x7f80, rounded(Float.POSITIVE_INFINITY));
    assertEquals((short) 0xff80, rounded(Float.NEGATIVE_INFINITY));
    assertEquals((short) 0x7f80, rounded(Float.MAX_VALUE), "beyond bf16's largest finite: infinity");
    for (int nan : new int[] {0x7fc0_0000, 0x7f80_0001, 0xff80_0001, 0x7fff_ffff, 0xffff_ffff}) {
      float back = Float.intBitsToFloat(WireFormat.round(nan) & 0xffff_0000);
      assertTrue(Float.isNaN(back), Integer.toHexString(nan) + " became " + back);
    }
  }

  @Test
  void theVectorLoopsRoundAndWidenEveryBitPatternLikeTheReference() {
    int count = 1 << 16;
    int offset = 12; // chunks sit at any 4-byte index of the log and the buffer
    Random random = new Random(5);
    ByteBuffer source = ByteBuffer.allocateDirect(offset + 4 * count).order(ByteOrder.nativeOrder());
    for (int i = 0; i < count; i++) source.putInt(offset + 4 * i, random.nextInt());
    source.putInt(offset, 0x3f80_8000); // a tie, to the even 1
    source.putInt(offset + 4, 0x7f80_0001); // a signalling NaN
    ByteBuffer payload = ByteBuffer.allocateDirect(offset + WireFormat.BF16.payloadBytes(count)).order(ByteOrder.nativeOrder());
    WireFormat.BF16.encode(source, offset, payload, offset, count);
    ByteBuffer decoded = ByteBuffer.allocateDirect(offset + 4 * count).order(ByteOrder.nativeOrder());
    WireFormat.BF16.decode(payload, offset, decoded, offset, count);
    for (int i = 0; i < count; i++) {
      float x = source.getFloat(offset + 4 * i);
      int got = decoded.getInt(offset + 4 * i);
      if (Float.isNaN(x)) {
        assertTrue(Float.isNaN(Float.intBitsToFloat(got)), "NaN stays NaN [" + i + "]");
      } else {
        assertEquals(bf16Bits(x) << 16, got, "value " + i + " = " + Integer.toHexString(Float.floatToRawIntBits(x)));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 7, 33, 65, 1000, 1001})
  void theCodecWritesTheLayoutAndReadsItBackIntoFloat32(int count) {
    Random random = new Random(count);
    float[] a = new float[count];
    float[] b = new float[count];
    for (int i = 0; i < count; i++) {
      a[i] = (float) random.nextGaussian();
      b[i] = (float) random.nextGaussian();
    }
    WireFormat codec = WireFormat.BF16;
    int k = (count + 1) / 2;
    ByteBuffer payload = ByteBuffer.allocateDirect(WireFormat.BF16.payloadBytes(count)).order(ByteOrder.nativeOrder());
    ByteBuffer source = Ranks.floats(a);
    codec.encode(source, 0, payload, 0, count);
    assertEquals(4 * k, payload.capacity());
    assertEquals(count, WireFormat.BF16.values(payload.capacity(), count));
    for (int j = 0; j < k; j++) {
      assertEquals(bf16Bits(a[j]), (short) payload.getInt(4 * j), "low half of word " + j);
      assertEquals(k + j < count ? bf16Bits(a[k + j]) : 0, (short) (payload.getInt(4 * j) >>> 16), "high half of word " + j);
    }
    assertEquals(a[0], source.getFloat(0), "encode leaves its source alone");

    ByteBuffer decoded = Ranks.floats(new float[count]);
    ByteBuffer sum = Ranks.floats(b);
    ByteBuffer max = Ranks.floats(b);
    ByteBuffer rounded = Ranks.floats(a);
    ByteBuffer payload2 = ByteBuffer.allocateDirect(payload.capacity()).order(ByteOrder.nativeOrder());
    codec.decode(payload, 0, decoded, 0, count);
    codec.combine(ReduceOp.SUM, payload, 0, sum, 0, count);
    codec.combine(ReduceOp.MAX, payload, 0, max, 0, count);
    codec.encodeAndRound(rounded, 0, payload2, 0, count);
    assertEquals(payload, payload2, "encodeAndRound sends what encode sends");
    for (int i = 0; i < count; i++) {
      assertEquals(bf16(a[i]), decoded.getFloat(4 * i), "decode [" + i + "]");
      assertEquals(b[i] + bf16(a[i]), sum.getFloat(4 * i), "combine SUM [" + i + "]");
      assertEquals(Math.max(b[i], bf16(a[i])), max.getFloat(4 * i), "combine MAX [" + i + "]");
      assertEquals(bf16(a[i]), rounded.getFloat(4 * i), "encodeAndRound keeps what it sent [" + i + "]");
    }
  }

  @Test
  void aChunkIsWellFormedOnlyWhenItsPayloadFitsTheValuesLeft() {
    WireFormat bf16 = WireFormat.BF16;
    assertEquals(7, bf16.values(16, 7), "4 words, 7 values left: the last word carries one");
    assertEquals(8, bf16.values(16, 100));
    assertTrue(bf16.payloadBytes(bf16.values(16, 6)) != 16, "4 words for 6 values: malformed");
    assertTrue(WireFormat.FP32.payloadBytes(WireFormat.FP32.values(40, 9)) != 40, "10 floats for 9 values: malformed");
  }
}
