package capi.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MonitoringConfigTest {
  @Test
  void readsTheDefaults() {
    MonitoringConfig m = CapiConfig.preset("tiny").monitoring();
    assertEquals(new MonitoringConfig(9404, "127.0.0.1", Duration.ofSeconds(30)), m);
  }

  @Test
  void readsOverrides() {
    MonitoringConfig m = CapiConfig.load(null, Overrides.commandLine(Map.of(
        "capi.monitoring.metrics-port", "0",
        "capi.monitoring.metrics-host", "127.0.0.1",
        "capi.monitoring.progress-interval", "2m"))).monitoring();
    assertEquals(new MonitoringConfig(0, "127.0.0.1", Duration.ofMinutes(2)), m);
  }

  @Test
  void namesTheBadKey() {
    assertBad("capi.monitoring.metrics-port", "70000", "[0, 65535]");
    assertBad("capi.monitoring.progress-interval", "soon", "duration");
    assertBad("capi.monitoring.progress-interval", "0s", "positive");
  }

  private static void assertBad(String key, String value, String expected) {
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.commandLine(Map.of(key, value))));
    assertTrue(e.getMessage().startsWith(key + " = "), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
