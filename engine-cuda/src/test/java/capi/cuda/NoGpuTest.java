package capi.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import capi.engine.Backends;
import capi.engine.Precision;
import org.junit.jupiter.api.Test;

/** Where there is no usable GPU, asking for the CUDA backend fails at once with one line saying why. */
class NoGpuTest {
  @Test
  void choosingCudaWithoutAGpuFailsWithAOneLineReason() {
    String why = CudaBackends.unavailable();
    assumeTrue(why != null, "a GPU is usable here: this test is for machines without one");
    System.out.println("without a GPU: " + why);
    assertFalse(why.contains("\n"), why);
    assertTrue(why.startsWith("CUDA"), why);
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> CudaBackends.open(Precision.FLOAT32, 0, CudaBackend.Options.EXACT));
    assertEquals(why, e.getMessage());
    assertTrue(Devices.visible().isEmpty());
    // probed once: asking again gives the same answer without touching CUDA again
    assertEquals(why, CudaBackends.unavailable());
  }

  @Test
  void theProviderIsFoundByNameAndFailsTheSameWay() {
    assertTrue(Backends.names().contains("cuda"), Backends.names().toString());
    String why = CudaBackends.unavailable();
    assumeTrue(why != null, "a GPU is usable here: this test is for machines without one");
    for (Precision p : Precision.values()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cuda", p, 0, 1));
      assertEquals("backend cuda cannot start: " + why, e.getMessage());
    }
  }
}
