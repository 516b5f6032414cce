package capi.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.engine.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * The emulator itself: a block reduction over several warps (shuffles and barriers across 256
 * coroutine threads) adds exactly, and launches the GPU would reject, or that the kernel's
 * signature does not fit, fail with what is wrong.
 */
class EmulatorTest {
  private final EmulatedDevice dev = new EmulatedDevice();

  @Test
  void aBlockReductionOverEightWarpsIsExact() {
    int n = 1000;
    ByteBuffer host = ByteBuffer.allocateDirect(8 * n).order(ByteOrder.nativeOrder());
    double expected = 0;
    for (int i = 0; i < n; i++) {
      host.putDouble(8 * i, i + 0.5); // exact in float64, as is every partial sum
      expected += i + 0.5;
    }
    long in = dev.alloc(8L * n), out = dev.alloc(8);
    dev.upload(host, 0, in, 8L * n);
    KernelArgs args = new KernelArgs().of(Kernel.SUM_DOUBLES).ptr(in).i64(n).ptr(out).complete();
    dev.launch("sum_doubles", 1, 256, args);
    dev.download(out, host, 0, 8);
    assertEquals(expected, host.getDouble(0));
    dev.free(in);
    dev.free(out);
  }

  @Test
  void badLaunchesFailWithWhatIsWrong() {
    long buf = dev.alloc(64);
    KernelArgs four = new KernelArgs().of(Kernel.FILL).tensor(buf, DType.F32).i64(4).f64(1).complete();
    String partial = assertThrows(IllegalStateException.class, () -> dev.launch("fill", 1, 48, four)).getMessage();
    assertTrue(partial.contains("not a multiple of 32"), partial);
    String unknown = assertThrows(IllegalStateException.class, () -> dev.launch("fill_f16", 1, 32, four)).getMessage();
    assertTrue(unknown.contains("no kernel fill_f16"), unknown);
    KernelArgs three = new KernelArgs().of(Kernel.FILL).tensor(buf, DType.F32).i64(4).f64(1);
    String arity = assertThrows(IllegalStateException.class, () -> dev.launch("fill", 1, 32, three)).getMessage();
    assertTrue(arity.contains("takes 4 arguments, not 3"), arity);
    KernelArgs short1 = new KernelArgs().of(Kernel.FILL).tensor(buf, DType.F32).i64(4);
    String counted = assertThrows(IllegalStateException.class, short1::complete).getMessage();
    assertEquals("fill launched with 3 arguments, it takes 4", counted);
    dev.free(buf);
  }
}
