package capi.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.testsupport.TestData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The engine reproduces the reference's two golden iterations (tolerances: testdata/golden/README.md). */
class GoldenParityTest {
  @Test
  @Timeout(120)
  void float64MatchesTheReference() throws Exception {
    check(Precision.FLOAT64);
  }

  @Test
  @Timeout(120)
  void float32MatchesTheReference() throws Exception {
    check(Precision.FLOAT32);
  }

  private static void check(Precision p) throws Exception {
    GoldenParity.Result r = GoldenParity.run(TestData.golden(TestData.TINY_A), p);
    StringBuilder failures = new StringBuilder();
    for (GoldenParity.Row row : r.rows()) {
      if (!row.ok()) failures.append(String.format("%n  %-80s %.3e > %.0e", row.key(), row.relErr(), row.tolerance()));
    }
    System.out.printf("parity %s: %d tensors, max_rel_err=%.3e%n", p, r.rows().size(), r.maxRelErr());
    r.rows().stream().sorted((a, b) -> Double.compare(b.relErr() / b.tolerance(), a.relErr() / a.tolerance())).limit(8)
        .forEach(row -> System.out.printf("  %-80s %.3e (tol %.0e)%n", row.key(), row.relErr(), row.tolerance()));
    assertTrue(r.passed(), "tensors off the golden values:" + failures);
  }
}
