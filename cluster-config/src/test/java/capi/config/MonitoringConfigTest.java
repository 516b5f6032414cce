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
    MonitoringConfig m = MonitoringConfig.from(CapiConfig.preset("tiny"));
    assertEquals(new MonitoringConfig(9404, "0.0.0.0", Duration.ofSeconds(30)), m);
  }

  @Test
  void readsOverrides() {
    MonitoringConfig m = MonitoringConfig.from(CapiConfig.load(null, Map.of(
        "capi.monitoring.metrics-port", "0",
        "capi.monitoring.metrics-host", "127.0.0.1",
        "capi.monitoring.progress-interval", "2m"), null));
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
        () -> MonitoringConfig.from(CapiConfig.load(null, Map.of(key, value), null)));
    assertTrue(e.getMessage().startsWith(key + " = "), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
