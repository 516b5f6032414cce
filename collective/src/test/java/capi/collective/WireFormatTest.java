package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.agrona.BufferUtil;
import org.junit.jupiter.api.Test;

/** bf16 on the wire: rounding to nearest even, special values, and the loops over off-heap memory. */
class WireFormatTest {
  private static short bf16(float x) {
    return WireFormat.toBf16(Float.floatToRawIntBits(x));
  }

  @Test
  void roundsToNearestTiesToEven() {
    assertEquals((short) 0x3f80, bf16(1f));
    assertEquals((short) 0x3f80, bf16(1f + 0x1p-8f), "halfway between 1 and 1+2^-7: to the even 1");
    assertEquals((short) 0x3f82, bf16(1f + 3 * 0x1p-8f), "halfway between 1+2^-7 and 1+2^-6: to the even 1+2^-6");
    assertEquals((short) 0x3f81, bf16(1f + 0x1p-8f + 0x1p-20f), "just above halfway: up");
    assertEquals((short) 0xbf80, bf16(-1f));
    assertEquals((short) 0x8000, bf16(-0f));
    assertEquals((short) 0x0001, bf16(Float.intBitsToFloat(0x0000_8000 + 1)), "subnormals round like the rest");
  }

  @Test
  void specialValuesStaySpecial() {
    assertEquals((short) 0x7f80, bf16(Float.POSITIVE_INFINITY));
    assertEquals((short) 0xff80, bf16(Float.NEGATIVE_INFINITY));
    assertEquals((short) 0x7f80, bf16(Float.MAX_VALUE), "beyond bf16's largest finite: infinity");
    for (int nan : new int[] {0x7fc0_0000, 0x7f80_0001, 0xff80_0001, 0x7fff_ffff}) {
      float back = Float.intBitsToFloat(WireFormat.toBf16(nan) << 16);
      assertTrue(Float.isNaN(back), Integer.toHexString(nan) + " became " + back);
    }
  }

  @Test
  void encodeDecodeCombineAndRoundAgreeWithTheScalarRounding() {
    int count = 1001;
    Random random = new Random(5);
    float[] a = new float[count];
    float[] b = new float[count];
    for (int i = 0; i < count; i++) {
      a[i] = (float) random.nextGaussian();
      b[i] = (float) random.nextGaussian();
    }
    ByteBuffer wire = ByteBuffer.allocateDirect(2 * count).order(ByteOrder.nativeOrder());
    WireFormat.BF16.encode(address(floats(a)), BufferUtil.address(wire), count);
    ByteBuffer decoded = floats(new float[count]);
    ByteBuffer sum = floats(b);
    ByteBuffer max = floats(b);
    ByteBuffer rounded = floats(b);
    WireFormat.BF16.decode(BufferUtil.address(wire), address(decoded), count);
    WireFormat.BF16.combine(ReduceOp.SUM, BufferUtil.address(wire), address(sum), count);
    WireFormat.BF16.combine(ReduceOp.MAX, BufferUtil.address(wire), address(max), count);
    WireFormat.BF16.round(address(rounded), count);
    for (int i = 0; i < count; i++) {
      float widened = Float.intBitsToFloat(bf16(a[i]) << 16);
      assertEquals(bf16(a[i]), wire.getShort(2 * i), "encode [" + i + "]");
      assertEquals(widened, decoded.getFloat(4 * i), "decode [" + i + "]");
      assertEquals(b[i] + widened, sum.getFloat(4 * i), "combine SUM [" + i + "]");
      assertEquals(Math.max(b[i], widened), max.getFloat(4 * i), "combine MAX [" + i + "]");
      assertEquals(Float.intBitsToFloat(bf16(b[i]) << 16), rounded.getFloat(4 * i), "round [" + i + "]");
    }
  }

  private static long address(ByteBuffer b) {
    return BufferUtil.address(b);
  }

  private static ByteBuffer floats(float[] values) {
    return Ranks.floats(values);
  }
}
