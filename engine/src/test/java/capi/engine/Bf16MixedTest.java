package capi.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The model's dtype plumbing under bf16-mixed, on the reference backend (which stores BF16 tensors
 * rounded to bfloat16 and rejects products whose dtypes do not match): every tensor the layers
 * hand a primitive has a legal dtype, and a step lands near the float64 one.
 */
@Timeout(120)
class Bf16MixedTest {
  @Test
  void aStepInBf16MixedIsCloseToFloat64() {
    StepInput in = StepBenchmark.synthetic(CapiTrainerTest.MODEL, 4, 2);
    CapiTrainer.StepScalars exact = step(Precision.FLOAT64, in), mixed = step(Precision.BF16_MIXED, in);
    assertEquals(exact.lossCapi(), mixed.lossCapi(), 0.02 * exact.lossCapi(), "capi loss");
    assertEquals(exact.lossClustering(), mixed.lossClustering(), 0.02 * exact.lossClustering(), "clustering loss");
    assertEquals(exact.gradNorm(), mixed.gradNorm(), 0.05 * exact.gradNorm(), "gradient norm");
    assertNotEquals(exact.lossCapi(), mixed.lossCapi(), "bf16 rounding shows");
  }

  private static CapiTrainer.StepScalars step(Precision p, StepInput in) {
    try (CapiTrainer t = CapiTrainer.create(CapiTrainerTest.MODEL, CapiTrainerTest.OPTIM, 3, new ReferenceBackend(p))) {
      t.teacherForward(in);
      t.sinkhorn(Reducer.LOCAL);
      t.clusteringForwardBackward();
      t.studentForwardBackward();
      t.apply(1e-3, 0.99, 5e-4);
      CapiTrainer.StepScalars s = t.stepScalars();
      assertTrue(Double.isFinite(s.lossCapi()) && Double.isFinite(s.gradNorm()), p + ": " + s);
      return s;
    }
  }
}
