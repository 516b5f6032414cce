package capi.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Backends by name through the provider SPI: the built-in cpu, and one-line reasons when there is none. */
class BackendsTest {
  @Test
  void theCpuProviderIsBuiltIn() {
    assertTrue(Backends.names().contains("cpu"), Backends.names().toString());
    try (Backend be = Backends.create("cpu", Precision.FLOAT32, 0, 2)) {
      assertEquals("cpu", be.name());
      assertEquals(Precision.FLOAT32, be.precision());
    }
  }

  @Test
  void aMissingProviderIsNamedWithTheAvailableOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("tpu", Precision.FLOAT32, 0, 1));
    assertEquals("backend tpu: no such provider (available: cpu)", e.getMessage());
  }

  @Test
  void anUnsupportedPrecisionSaysWhy() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cpu", Precision.BF16_MIXED, 0, 1));
    assertTrue(e.getMessage().startsWith("backend cpu: bf16-mixed needs the cuda backend"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void precisionNames() {
    assertEquals(Precision.BF16_MIXED, Precision.of("bf16-mixed"));
    assertEquals(DType.BF16, Precision.BF16_MIXED.compute());
    assertEquals(DType.F32, Precision.BF16_MIXED.master());
    assertThrows(IllegalArgumentException.class, () -> Precision.of("fp16"));
  }

  @Test
  void bf16RoundsToNearestEven() {
    assertEquals(1f, DType.roundToBf16(1.00390625f), "halfway between 1 and 1 + 2^-7 goes to the even 1");
    assertEquals(1.015625f, DType.roundToBf16(1.01171875f), "halfway between 1 + 2^-7 and 1 + 2^-6 goes to the even 1 + 2^-6");
    assertEquals(1.0078125f, DType.roundToBf16(1.006f));
    assertTrue(Float.isNaN(DType.roundToBf16(Float.NaN)));
  }
}
