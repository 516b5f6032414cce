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
    // CAPI_SPEC.md §8: 256/166/90/8 for /14 at 224
    ModelConfig l = ModelConfig.from(CapiConfig.preset("vit-l"));
    assertEquals(256, l.patches());
    assertEquals(166, l.masked());
    assertEquals(90, l.visible());
    assertEquals(8, l.predicted());
    ModelConfig tiny = ModelConfig.from(CapiConfig.preset("tiny"));
    assertEquals(16, tiny.patches()); // 28x28 in 7x7 patches
    assertEquals(6, tiny.visible()); // 16 - floor(16 x 0.65)
    assertEquals(5, tiny.predicted()); // floor(10 masked x 0.5)
    assertEquals("float32", tiny.precision());
  }

  @Test
  void rejectsShapesTheModelCannotHave() {
    BadConfigException heads = assertThrows(BadConfigException.class,
        () -> ModelConfig.from(CapiConfig.load(null, Map.of("capi.model.heads", "5"), "tiny")));
    assertTrue(heads.getMessage().startsWith("capi.model.heads = 5"), heads.getMessage());
    BadConfigException regs = assertThrows(BadConfigException.class,
        () -> ModelConfig.from(CapiConfig.load(null, Map.of("capi.model.registers", "6"), "tiny")));
    assertTrue(regs.getMessage().contains("multiple of 4"), regs.getMessage());
    BadConfigException size = assertThrows(BadConfigException.class,
        () -> ModelConfig.from(CapiConfig.load(null, Map.of("capi.model.image-width", "30"), "tiny")));
    assertTrue(size.getMessage().contains("capi.model.image-width"), size.getMessage());
    assertThrows(BadConfigException.class,
        () -> ModelConfig.from(CapiConfig.load(null, Map.of("capi.model.precision", "float16"), "tiny")));
  }

  @Test
  void optimDefaults() {
    OptimConfig o = OptimConfig.from(CapiConfig.preset("vit-l"));
    assertEquals(1e-3, o.lr());
    assertEquals(0.95, o.beta2());
    assertEquals(0.01, o.clusteringWeightDecay());
    assertEquals(0.8, o.truncateCos());
    assertEquals(2e-3, OptimConfig.from(CapiConfig.preset("vit-s")).lr());
    OptimConfig tiny = OptimConfig.from(CapiConfig.preset("tiny")); // the smaller model's rates
    assertEquals(2e-3, tiny.lr());
    assertEquals(1e-3, tiny.clusteringLr());
    assertEquals(0.996, tiny.emaMomentum());
  }
}
