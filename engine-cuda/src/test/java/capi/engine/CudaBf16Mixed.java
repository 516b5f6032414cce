package capi.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Whole training steps of the CUDA backend in bf16-mixed (drop path on) against the reference
 * backend in bf16-mixed (the same tensors rounded to bf16, arithmetic in float64; the engine's
 * Bf16MixedTest puts that near float64): the losses and gradient norm of every step follow it, and
 * the compute tensors really are stored in bf16 (every patch token the teacher hands the
 * clustering head is a bf16 value) while the logits are float32.
 */
abstract class CudaBf16Mixed {
  private static final ModelConfig MODEL = CapiTrainerTest.MODEL;
  private static final int STEPS = 2;

  /** The backend under test in precision p. */
  protected abstract Backend create(Precision p);

  @Test
  @Timeout(300)
  void bf16MixedStepsFollowTheReferenceAndStoreBf16() {
    try (CapiTrainer cuda = CapiTrainer.create(MODEL, CapiTrainerTest.OPTIM, 3, create(Precision.BF16_MIXED));
        CapiTrainer bf16 = CapiTrainer.create(MODEL, CapiTrainerTest.OPTIM, 3, new ReferenceBackend(Precision.BF16_MIXED))) {
      for (int s = 0; s < STEPS; s++) {
        StepInput in = StepBenchmark.synthetic(MODEL, 4, 10 + s);
        CapiTrainer.StepScalars got = step(cuda, in), ref = step(bf16, in);
        System.out.printf("bf16-mixed step %d: cuda %s%n  bf16 reference %s%n", s, got, ref);
        close("step " + s, ref, got, 5e-3, 2e-2);
        if (s == 0) {
          double[] tokens = cuda.probe("teacher/patch_tokens");
          for (double v : tokens) assertEquals(DType.roundToBf16((float) v), v, 0, "a patch token that bf16 cannot hold");
          double[] logits = cuda.probe("teacher/cluster_logits");
          long offGrid = java.util.Arrays.stream(logits).filter(v -> DType.roundToBf16((float) v) != v).count();
          assertTrue(offGrid > logits.length / 2, "the clustering logits are float32: " + offGrid + " of " + logits.length);
        }
      }
    }
  }

  private static CapiTrainer.StepScalars step(CapiTrainer t, StepInput in) {
    t.teacherForward(in);
    t.sinkhorn(Reducer.LOCAL);
    t.clusteringForwardBackward();
    t.studentForwardBackward();
    t.apply(1e-3, 0.99, 5e-4);
    return t.stepScalars();
  }

  private static void close(String what, CapiTrainer.StepScalars want, CapiTrainer.StepScalars got, double lossTol, double normTol) {
    assertEquals(want.lossCapi(), got.lossCapi(), lossTol * Math.abs(want.lossCapi()), what + ": capi loss");
    assertEquals(want.lossClustering(), got.lossClustering(), lossTol * Math.abs(want.lossClustering()), what + ": clustering loss");
    assertEquals(want.targetEntropy(), got.targetEntropy(), lossTol * Math.abs(want.targetEntropy()), what + ": target entropy");
    assertEquals(want.gradNorm(), got.gradNorm(), normTol * want.gradNorm(), what + ": gradient norm");
  }
}
