package capi.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import capi.testsupport.TestData;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The schedules against the golden arrays and the official recipe's check values (docs/ALGORITHM.md §4.2, §8). */
class WarmupThenCosineTest {
  @Test
  void matchesTheGoldenLrAndMomentumArrays() throws Exception {
    // tiny-a: total 40, warm-up 8, truncate 0.8, lr 2e-3; momentum 1 → 0.999 → 1
    Path golden = TestData.golden(TestData.TINY_A);
    double[] lr = Npy.read(golden.resolve("schedule__lr.npy")).data();
    double[] m = Npy.read(golden.resolve("schedule__momentum.npy")).data();
    WarmupThenCosine lrs = new WarmupThenCosine(2e-3, 0, 40, 8, 0, 0.8);
    WarmupThenCosine ms = new WarmupThenCosine(0.999, 1, 40, 8, 1, 0.8);
    for (int i = 0; i < lr.length; i++) {
      assertEquals(lr[i], lrs.at(i), 1e-15, "lr[" + i + "]");
      assertEquals(m[i], ms.at(i), 1e-15, "momentum[" + i + "]");
    }
  }

  @Test
  void referenceRecipeSanityValues() {
    WarmupThenCosine lr = new WarmupThenCosine(1e-3, 0, 500_000, 50_000, 0, 0.8);
    WarmupThenCosine m = new WarmupThenCosine(0.999, 1, 500_000, 50_000, 1, 0.8);
    assertEquals(0, lr.at(0));
    assertEquals(1e-3, lr.at(49_999), 1e-15);
    assertEquals(9.549e-5, lr.at(499_999), 1e-8);
    assertEquals(0, lr.at(500_000));
    assertEquals(1.0, m.at(0));
    assertEquals(0.999, m.at(49_999), 1e-15);
    assertEquals(0.9999045, m.at(499_999), 1e-7);
  }
}
