package capi.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DataConfigTest {
  private static DataConfig read(String preset, Map<String, String> overrides) {
    return CapiConfig.load(null, Overrides.commandLine(overrides).preset(preset)).data();
  }

  @Test
  void defaultsAreTheReferenceAugmentation() {
    DataConfig c = read("vit-l", Map.of());
    assertEquals("fashion-mnist", c.dataset());
    assertArrayEquals(new double[] {0.485, 0.456, 0.406}, c.mean());
    assertArrayEquals(new double[] {0.229, 0.224, 0.225}, c.std());
    assertEquals(0.6, c.cropScaleMin());
    assertEquals(1.0, c.cropScaleMax());
    assertEquals(0.75, c.cropAspectMin());
    assertEquals(4 / 3.0, c.cropAspectMax(), 1e-12);
    assertEquals(0.5, c.flipProbability());
  }

  @Test
  void tinyUsesFashionMnistStatistics() {
    DataConfig c = read("tiny", Map.of());
    assertArrayEquals(new double[] {0.2860}, c.mean());
    assertArrayEquals(new double[] {0.3530}, c.std());
  }

  @Test
  void listsCanBeOverriddenFromTheCommandLine() {
    DataConfig c = read("vit-s", Map.of("capi.data.mean", "[0.5, 0.4, 0.3]", "capi.data.std", "[0.2]"));
    assertArrayEquals(new double[] {0.5, 0.4, 0.3}, c.mean());
    assertArrayEquals(new double[] {0.2}, c.std());
  }

  @Test
  void rejectsBadValuesNamingTheKey() {
    BadConfigException e = assertThrows(BadConfigException.class, () -> read("tiny", Map.of("capi.data.std", "[0]")));
    assertTrue(e.getMessage().startsWith("capi.data.std") && e.getMessage().contains("> 0"), e.getMessage());
    e = assertThrows(BadConfigException.class, () -> read("tiny", Map.of("capi.data.mean", "grey")));
    assertTrue(e.getMessage().startsWith("capi.data.mean"), e.getMessage());
    e = assertThrows(BadConfigException.class, () -> read("tiny", Map.of("capi.data.crop-scale-min", "1.5")));
    assertTrue(e.getMessage().startsWith("capi.data.crop-scale-min"), e.getMessage());
    e = assertThrows(BadConfigException.class, () -> read("tiny", Map.of("capi.data.loader-threads", "0")));
    assertTrue(e.getMessage().startsWith("capi.data.loader-threads"), e.getMessage());
  }
}
