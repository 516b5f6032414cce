package capi.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.ModelConfig;
import capi.config.OptimConfig;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The trainer's contract with the runtime: determinism, gradient hand-off, state round trip, eval shapes. */
@Timeout(60)
class CapiTrainerTest {
  // non-square, predictor narrower than the encoder, 8 registers, drop path on
  static final ModelConfig MODEL =
      new ModelConfig(12, 16, 3, 4, 16, 2, 2, 8, 2, 2, 8, 10, 0.2, 0.5, 0.5, 0.12, 0.06, 0.12, 3, true);
  static final OptimConfig OPTIM = new OptimConfig(1e-3, 0.1, 0.9, 0.95, 1e-8, 0.2, 0.1, 5e-4, 0.01, 0.999, 100, 0.1, 0.8);

  /** The phases up to the gradients; returns the step's CAPI loss. */
  private static double step(CapiTrainer t, StepInput in, long seed) {
    StepInput seeded = new StepInput(in.batch(), in.pixels(), in.mean(), in.std(), in.visibleIndices(),
        in.predictIndices(), seed);
    t.teacherForward(seeded);
    t.sinkhorn(Reducer.LOCAL);
    t.clusteringForwardBackward();
    t.studentForwardBackward();
    return t.stepScalars().lossCapi();
  }

  /** A whole step with the reference's hyper-parameters; returns its scalars. */
  private static CapiTrainer.StepScalars fullStep(CapiTrainer t, StepInput in, long seed) {
    step(t, in, seed);
    t.apply(1e-3, 0.99, 5e-4);
    return t.stepScalars();
  }

  @Test
  void dropPathIsKeyedByTheSeedOnly() {
    StepInput in = StepBenchmark.synthetic(MODEL, 5, 1);
    try (CapiTrainer a = CapiTrainer.create(MODEL, OPTIM, 3, 1); CapiTrainer b = CapiTrainer.create(MODEL, OPTIM, 3, 1)) {
      CapiTrainer.StepScalars sa = fullStep(a, in, 42), sb = fullStep(b, in, 42);
      assertEquals(sa, sb, "the same seed on two trainers");
      double la = step(a, in, 42);
      assertEquals(la, step(a, in, 42), "the same seed again gives the same loss");
      assertNotEquals(la, step(a, in, 43), "another seed drops other samples");
    }
  }

  /** Threads split loops and products, never the order of a sum: one thread and two compute the same step. */
  @Test
  void theThreadCountDoesNotChangeAStep() {
    StepInput in = StepBenchmark.synthetic(MODEL, 5, 1);
    try (CapiTrainer a = CapiTrainer.create(MODEL, OPTIM, 3, 1); CapiTrainer b = CapiTrainer.create(MODEL, OPTIM, 3, 2)) {
      for (int s = 0; s < 3; s++) assertEquals(fullStep(a, in, s), fullStep(b, in, s), "step " + s);
      assertEquals(a.teacherChecksum(), b.teacherChecksum());
    }
  }

  @Test
  void teacherStartsAsACopyOfTheStudent() {
    try (CapiTrainer t = CapiTrainer.create(MODEL, OPTIM, 3, 1)) {
      for (String name : t.studentParameterNames()) assertArrayEquals(t.read("student/" + name), t.read("teacher/" + name), name);
    }
  }

  @Test
  void applyUsesTheGradientsAsReducedInPlace() {
    StepInput in = StepBenchmark.synthetic(MODEL, 4, 2);
    try (CapiTrainer t = CapiTrainer.create(MODEL, OPTIM, 3, 1); CapiTrainer plain = CapiTrainer.create(MODEL, OPTIM, 3, 1)) {
      double norm = fullStep(plain, in, 1).gradNorm();
      step(t, in, 1);
      ByteBuffer g = t.gradients();
      assertEquals(t.gradientCount() * 4, g.remaining(), "student and clustering head in one message");
      for (int i = 0; i < t.gradientCount(); i++) g.putFloat(4 * i, g.getFloat(4 * i) * 0.5f);
      long before = t.teacherChecksum();
      t.apply(1e-3, 0.99, 5e-4);
      assertEquals(norm / 2, t.stepScalars().gradNorm(), norm * 1e-6);
      assertEquals(1, t.optimizerStep());
      assertNotEquals(before, t.teacherChecksum(), "EMA with momentum < 1 moves the teacher");
    }
  }

  @Test
  void stateRoundTripIsBitIdentical() {
    StepInput in = StepBenchmark.synthetic(MODEL, 4, 3);
    try (CapiTrainer a = CapiTrainer.create(MODEL, OPTIM, 3, 1); CapiTrainer b = CapiTrainer.create(MODEL, OPTIM, 9, 1)) {
      step(a, in, 1);
      a.apply(1e-3, 0.99, 5e-4);
      Map<String, NamedTensor> state = a.state();
      assertTrue(state.containsKey("optim/student/exp_avg_sq/backbone.patch_embed.weight"));
      assertTrue(state.containsKey("clustering/layer.bias"));
      b.loadState(state);
      b.setOptimizerStep(a.optimizerStep());
      for (Map.Entry<String, NamedTensor> e : b.state().entrySet()) {
        assertArrayEquals(state.get(e.getKey()).data(), e.getValue().data(), e.getKey());
      }
      assertEquals(a.teacherChecksum(), b.teacherChecksum());
      assertEquals(step(a, in, 5), step(b, in, 5), "a restored trainer continues exactly");
    }
  }

  @Test
  void loadStateNamesAMissingOrMisshapedTensor() {
    try (CapiTrainer t = CapiTrainer.create(MODEL, OPTIM, 3, 1)) {
      Map<String, NamedTensor> state = new HashMap<>(t.state());
      state.remove("teacher/backbone.mask_token");
      IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> t.loadState(state));
      assertTrue(missing.getMessage().contains("teacher/backbone.mask_token"), missing.getMessage());
      state.put("teacher/backbone.mask_token", new NamedTensor("teacher/backbone.mask_token", new int[] {8}, new float[8]));
      IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> t.loadState(state));
      assertTrue(shape.getMessage().contains("shape"), shape.getMessage());
    }
  }

  /** Activations are allocated for the first step and reused: backend memory does not grow. */
  @Test
  void backendMemoryIsFlatOverSteps() {
    StepInput[] ins = {StepBenchmark.synthetic(MODEL, 4, 6), StepBenchmark.synthetic(MODEL, 4, 7)};
    try (CapiTrainer t = CapiTrainer.create(MODEL, OPTIM, 3, 1)) {
      step(t, ins[0], 0);
      t.apply(1e-3, 0.99, 5e-4);
      long held = t.backendBytes();
      for (int s = 1; s <= 60; s++) {
        step(t, ins[s % 2], s);
        t.gradients();
        t.apply(1e-3, 0.99, 5e-4);
        assertEquals(held, t.backendBytes(), "step " + s);
      }
    }
  }

  @Test
  void evalForwardShapes() {
    StepInput in = StepBenchmark.synthetic(MODEL, 3, 4);
    try (CapiTrainer t = CapiTrainer.create(MODEL, OPTIM, 3, 1)) {
      EvalOutput e = t.evalForward(in.pixels(), in.mean(), in.std(), 3);
      assertArrayEquals(new int[] {3, 8}, e.globalRepr().shape());
      assertArrayEquals(new int[] {3, 8, 16}, e.registers().shape());
      assertArrayEquals(new int[] {3, 3, 4, 16}, e.featureMap().shape());
      assertArrayEquals(new int[] {3, 16}, e.patchMean().shape());
      for (float v : e.globalRepr().data()) assertTrue(Float.isFinite(v));
    }
  }

  /** Other shapes a configuration allows: no registers, a predictor wider than the encoder, 4 heads. */
  @Test
  void stepsAnyAllowedShape() {
    ModelConfig wide = new ModelConfig(8, 20, 1, 4, 8, 2, 1, 16, 4, 1, 0, 6, 0.5, 0.6, 0.5, 0.12, 0.06, 0.12, 3, true);
    StepInput in = StepBenchmark.synthetic(wide, 3, 8);
    try (CapiTrainer t = CapiTrainer.create(wide, OPTIM, 3, 2)) {
      CapiTrainer.StepScalars s = fullStep(t, in, 1);
      assertTrue(Double.isFinite(s.lossCapi()) && Double.isFinite(s.gradNorm()), "step " + s);
      EvalOutput e = t.evalForward(in.pixels(), in.mean(), in.std(), 3);
      assertArrayEquals(new int[] {3, 16}, e.globalRepr().shape());
      assertArrayEquals(new int[] {3, 0, 8}, e.registers().shape());
      assertArrayEquals(new int[] {3, 2, 5, 8}, e.featureMap().shape());
    }
  }

  @Test
  void targetsAreDistributionsAndTheirEntropyIsBounded() {
    StepInput in = StepBenchmark.synthetic(MODEL, 6, 5);
    try (CapiTrainer t = CapiTrainer.create(MODEL, OPTIM, 3, 1)) {
      step(t, in, 1);
      double h = t.stepScalars().targetEntropy();
      assertTrue(h >= 0 && h <= Math.log(MODEL.prototypes()) + 1e-6, "entropy " + h);
    }
  }

  /**
   * Position-wise Sinkhorn balances every prototype at every position; the global variant only over
   * all N·B tokens together (soft targets and 50 iterations, so the marginals are met closely).
   */
  @Test
  void sinkhornBalancesPrototypesPerPositionOrOverAllTokens() {
    int b = 6, n = MODEL.patches(), k = MODEL.prototypes();
    StepInput in = StepBenchmark.synthetic(MODEL, b, 5);
    for (boolean positionwise : new boolean[] {true, false}) {
      ModelConfig m = new ModelConfig(12, 16, 3, 4, 16, 2, 2, 8, 2, 2, 8, 10, 0, 0.5, 0.5, 0.12, 1.0, 0.12, 50,
          positionwise);
      try (CapiTrainer t = CapiTrainer.create(m, OPTIM, b, Backends.create("cpu", Precision.FLOAT64, 0, 1))) {
        t.teacherForward(in);
        t.sinkhorn(Reducer.LOCAL);
        double[] q = t.probe("teacher/assignments"); // (N, B, K)
        double perPosition = 0, overall = 0;
        double[] total = new double[k];
        for (int p = 0; p < n; p++) {
          for (int j = 0; j < k; j++) {
            double mass = 0;
            for (int i = 0; i < b; i++) mass += q[(p * b + i) * k + j];
            perPosition = Math.max(perPosition, Math.abs(mass - (double) b / k));
            total[j] += mass;
          }
        }
        for (double mass : total) overall = Math.max(overall, Math.abs(mass - (double) n * b / k));
        assertTrue(overall < 1e-3, positionwise + ": every prototype holds N·B/K overall, off by " + overall);
        if (positionwise) assertTrue(perPosition < 1e-3, "B/K at every position, off by " + perPosition);
        else assertTrue(perPosition > 0.05, "free to differ between positions, off by only " + perPosition);
      }
    }
  }
}
