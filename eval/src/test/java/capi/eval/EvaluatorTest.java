package capi.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CapiConfig;
import capi.engine.CapiTrainer;
import capi.engine.NamedTensor;
import capi.engine.checkpoint.SafeTensors;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(300)
class EvaluatorTest {
  private static final CapiConfig CONFIG = SmallModel.config(Map.of());

  private static CapiTrainer model(long seed) {
    return CapiTrainer.create(CONFIG.model(), CONFIG.optim(), seed, 2);
  }

  @Test
  void checkpointOnDiskEvaluatesLikeTheModelInMemory(@TempDir Path dir) throws Exception {
    Evaluator evaluator = Evaluator.of(CONFIG, Probe.ALL, true, 2);
    try (CapiTrainer original = model(1); CapiTrainer restored = model(2)) {
      Path file = dir.resolve("state.safetensors");
      SafeTensors.write(file, original.state().values(), Map.of());
      Map<String, NamedTensor> state = SafeTensors.read(file);
      restored.loadState(state);

      EvalImages images = new EvalImages(capi.data.Datasets.open("fashion-mnist:test"),
          capi.data.BatchShape.of(CONFIG.model()), CONFIG.data(), 200, 42, 64);
      Map<FeatureSource, FeatureSet> a = FeatureExtractor.extract(original, images, EnumSet.allOf(FeatureSource.class));
      Map<FeatureSource, FeatureSet> b = FeatureExtractor.extract(restored, images, EnumSet.allOf(FeatureSource.class));
      for (FeatureSource s : FeatureSource.values()) {
        assertArrayEquals(a.get(s).values(), b.get(s).values(), s.label());
        assertArrayEquals(a.get(s).labels(), b.get(s).labels(), s.label());
      }
      assertEquals(evaluator.evaluate(original), evaluator.evaluate(restored));
    }
  }

  @Test
  void aRandomlyInitialisedModelScoresNearItsBaseline() {
    Evaluator evaluator = Evaluator.of(CONFIG, Probe.ALL, false, 2);
    Scores baseline = evaluator.randomInitBaseline();
    try (CapiTrainer random = model(7)) {
      Scores other = evaluator.evaluate(random).get(FeatureSource.GLOBAL_REPR);
      assertEquals(baseline.knnTop1(), other.knnTop1(), 0.08, "k-NN " + other + " vs " + baseline);
      assertEquals(baseline.linearTop1(), other.linearTop1(), 0.08, "linear " + other + " vs " + baseline);
    }
    // Chance is 10%: even random features separate Fashion-MNIST classes somewhat, pixels more so.
    assertTrue(baseline.knnTop1() > 0.2 && baseline.linearTop1() > 0.2, baseline.toString());
  }

  @Test
  void rawPixelProbesRecoverFashionMnistClasses() {
    Evaluator evaluator = Evaluator.of(CONFIG, Probe.ALL, false, 2);
    Scores pixels = evaluator.pixelBaseline();
    assertTrue(pixels.knnTop1() > 0.7, pixels.toString());
    assertTrue(pixels.linearTop1() > 0.7, pixels.toString());
    assertEquals(1000, evaluator.trainImages());
    assertEquals(500, evaluator.testImages());
  }

  @Test
  void runsOnlyTheRequestedProbe() {
    Evaluator knnOnly = Evaluator.of(CONFIG, Probe.KNN, true, 2);
    Scores s = knnOnly.pixelBaseline();
    assertFalse(Double.isNaN(s.knnTop1()));
    assertTrue(Double.isNaN(s.linearTop1()));
  }
}
