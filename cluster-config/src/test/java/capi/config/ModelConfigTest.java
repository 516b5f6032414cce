package capi.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** ModelConfig / OptimConfig read reference.conf and presets, derive the mask counts and reject bad shapes. */
class ModelConfigTest {
  @Test
  void countsOfTheSpec() {
    // docs/ALGORITHM.md §8: 256/166/90/8 for /14 at 224
    ModelConfig l = CapiConfig.preset("vit-l").model();
    assertEquals(256, l.patches());
    assertEquals(166, l.masked());
    assertEquals(90, l.visible());
    assertEquals(8, l.predicted());
    ModelConfig tiny = CapiConfig.preset("tiny").model();
    assertEquals(16, tiny.patches()); // 28x28 in 7x7 patches
    assertEquals(6, tiny.visible()); // 16 - floor(16 x 0.65)
    assertEquals(5, tiny.predicted()); // floor(10 masked x 0.5)
  }

  @Test
  void rejectsShapesTheModelCannotHave() {
    BadConfigException heads = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.commandLine(Map.of("capi.model.heads", "5")).preset("tiny")));
    assertTrue(heads.getMessage().startsWith("capi.model.heads = 5"), heads.getMessage());
    BadConfigException regs = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.commandLine(Map.of("capi.model.registers", "6")).preset("tiny")));
    assertTrue(regs.getMessage().contains("multiple of 4"), regs.getMessage());
    BadConfigException size = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.commandLine(Map.of("capi.model.image-width", "30")).preset("tiny")));
    assertTrue(size.getMessage().contains("capi.model.image-width"), size.getMessage());
  }

  @Test
  void optimDefaults() {
    OptimConfig o = CapiConfig.preset("vit-l").optim();
    assertEquals(1e-3, o.lr());
    assertEquals(0.95, o.beta2());
    assertEquals(0.01, o.clusteringWeightDecay());
    assertEquals(0.8, o.truncateCos());
    assertEquals(2e-3, CapiConfig.preset("vit-s").optim().lr());
    OptimConfig tiny = CapiConfig.preset("tiny").optim(); // the smaller model's rates
    assertEquals(2e-3, tiny.lr());
    assertEquals(1e-3, tiny.clusteringLr());
    assertEquals(0.996, tiny.emaMomentum());
  }
}
