package capi.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvalConfigTest {
  @Test
  void readsTheDefaults() {
    EvalConfig e = CapiConfig.preset("tiny").eval();
    assertEquals("fashion-mnist", e.dataset());
    assertEquals(20, e.knnK());
    assertEquals(0.07, e.knnTemperature());
    assertArrayEquals(new double[] {1e-3, 1e-2, 1e-1}, e.linearLearningRates());
    assertEquals(0.1, e.holdoutFraction());
    assertEquals(42, e.seed());
  }

  @Test
  void evaluatesEveryNStepsOrNever() {
    EvalConfig e = CapiConfig.load(null, Overrides.commandLine(Map.of("capi.eval.every-steps", "100"))).eval();
    assertFalse(e.evaluatesAfter(0));
    assertFalse(e.evaluatesAfter(99));
    assertTrue(e.evaluatesAfter(100));
    assertTrue(e.evaluatesAfter(300));
    EvalConfig off = CapiConfig.load(null, Overrides.commandLine(Map.of("capi.eval.every-steps", "0"))).eval();
    assertFalse(off.evaluatesAfter(100));
  }

  @Test
  void namesTheBadKey() {
    assertBad("capi.eval.knn-k", "0", "positive");
    assertBad("capi.eval.every-steps", "-1", ">= 0");
    assertBad("capi.eval.linear-learning-rates", "fast", "list of numbers");
    assertBad("capi.eval.holdout-fraction", "0.9", "[0.01, 0.5]");
  }

  @Test
  void checksTheGrids() throws IOException {
    assertBadHocon("capi.eval.linear-learning-rates = []", "at least one");
    assertBadHocon("capi.eval.linear-weight-decays = [0, -1]", "in [0.0");
  }

  private static void assertBadHocon(String hocon, String expected) throws IOException {
    Path file = Files.createTempFile("capi-eval", ".conf");
    Files.writeString(file, hocon);
    BadConfigException e = assertThrows(BadConfigException.class, () -> CapiConfig.load(file, Overrides.none()));
    Files.delete(file);
    assertTrue(e.getMessage().startsWith(hocon.substring(0, hocon.indexOf(' ')) + " = "), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  private static void assertBad(String key, String value, String expected) {
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.commandLine(Map.of(key, value))));
    assertTrue(e.getMessage().startsWith(key + " = "), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
