package capi.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import capi.config.CapiConfig;
import capi.config.ModelConfig;
import capi.config.OptimConfig;
import capi.data.BatchSource;
import capi.data.CapiBatch;
import capi.engine.CapiTrainer;
import capi.engine.NamedTensor;
import capi.engine.Reducer;
import capi.engine.StepInput;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Periodic evaluation runs on the trainer between steps: it must leave training exactly as it
 * was, or a run with evaluation would not reproduce one without (nor its own resume).
 */
@Timeout(300)
class EvaluationBetweenStepsTest {
  private static final CapiConfig CONFIG = SmallModel.config(Map.of("train.batch-size", "8"));

  @Test
  void trainingAfterAnEvaluationIsBitIdentical() {
    BatchSource batches = BatchSource.of(CONFIG);
    Evaluator evaluator = Evaluator.of(CONFIG, Probe.KNN, true, 1);
    ModelConfig model = CONFIG.model();
    OptimConfig optim = CONFIG.optim();
    try (CapiTrainer evaluated = CapiTrainer.create(model, optim, 3, 1);
        CapiTrainer plain = CapiTrainer.create(model, optim, 3, 1)) {
      step(evaluated, batches.batch(0, 0, 1));
      step(plain, batches.batch(0, 0, 1));
      evaluator.evaluate(evaluated);
      double lossEvaluated = step(evaluated, batches.batch(1, 0, 1));
      double lossPlain = step(plain, batches.batch(1, 0, 1));
      assertEquals(lossPlain, lossEvaluated);
      Map<String, NamedTensor> a = evaluated.state(), b = plain.state();
      assertEquals(b.keySet(), a.keySet());
      for (String key : a.keySet()) assertArrayEquals(b.get(key).data(), a.get(key).data(), key);
    }
  }

  private static double step(CapiTrainer t, CapiBatch b) {
    StepInput in = new StepInput(b.batch(), b.pixels(), b.mean(), b.std(), b.visibleIndices(), b.predictIndices(), 11);
    t.teacherForward(in);
    t.sinkhorn(Reducer.LOCAL);
    t.clusteringForwardBackward();
    t.studentForwardBackward();
    t.apply(1e-3, 0.99, 5e-4);
    return t.stepScalars().lossCapi();
  }
}
