package capi.engine;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.engine.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** The cpu backend against the reference, with two threads so the split loops run too. */
class CpuBackendConformanceTest extends BackendConformance {
  @Override
  protected Backend create(Precision p) {
    return new CpuBackend(p, 2);
  }

  @Test
  void rejectsBf16MixedWithAReason() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CpuBackend(Precision.BF16_MIXED, 1));
    assertTrue(e.getMessage().contains("bf16-mixed needs the cuda backend"), e.getMessage());
  }
}
