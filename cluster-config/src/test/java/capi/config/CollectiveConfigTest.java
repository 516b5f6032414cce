package capi.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig.Channel;
import capi.config.CollectiveConfig.SameHost;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CollectiveConfigTest {
  private static CollectiveConfig read(Map<String, String> overrides) {
    return CapiConfig.load(null, Overrides.commandLine(overrides)).collective();
  }

  @Test
  void readsTheDefaults() {
    CollectiveConfig c = read(Map.of());
    assertEquals(CollectiveConfig.Channel.MEMORY, c.channel());
    assertEquals(65504, c.mtu());
    assertEquals(Duration.ofSeconds(10), c.timeout());
    assertEquals(CollectiveConfig.SameHost.SHM, c.sameHost());
    assertEquals(1 << 20, c.shmChunkBytes());
    assertEquals(CollectiveConfig.Wire.FP32, c.wireFormat());
    assertEquals(CollectiveConfig.Wire.BF16, read(Map.of("capi.collective.wire-format", "bf16")).wireFormat());
  }

  @Test
  void rejectsFramesThatDoNotFitTheTerm() {
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> read(Map.of("capi.collective.term-length", "131072")));
    assertTrue(e.getMessage().startsWith("capi.collective.term-length = 131072"), e.getMessage());
  }

  @Test
  void rejectsAChunkThatIsNotWholePages() {
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> read(Map.of("capi.collective.shm-chunk-bytes", "5000")));
    assertTrue(e.getMessage().startsWith("capi.collective.shm-chunk-bytes = 5000"), e.getMessage());
  }

  @Test
  void rejectsAnUnknownChannel() {
    BadConfigException e = assertThrows(BadConfigException.class, () -> read(Map.of("capi.collective.channel", "tcp")));
    assertTrue(e.getMessage().contains("memory, ipc, udp"), e.getMessage());
  }
}
