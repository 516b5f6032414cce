package capi.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EngineConfigTest {
  private static EngineConfig load(Map<String, Object> overrides) {
    Overrides o = Overrides.none();
    for (Map.Entry<String, Object> e : overrides.entrySet()) o = o.set(e.getKey(), e.getValue());
    return CapiConfig.load(null, o.preset("tiny")).engine();
  }

  @Test
  void defaultsAreTheCpuInFloat32() {
    EngineConfig e = load(Map.of());
    assertEquals(EngineConfig.Backend.CPU, e.backend());
    assertEquals(EngineConfig.Precision.FLOAT32, e.precision());
    assertFalse(e.tf32());
    assertEquals(List.of(), e.devices());
    assertEquals(3, e.deviceOf(3), "no list: worker i on device i");
  }

  @Test
  void cudaTakesEveryPrecisionAndPlacesWorkersRoundRobin() {
    EngineConfig e = load(Map.of("engine.backend", "cuda", "engine.precision", "bf16-mixed", "engine.tf32", true,
        "engine.devices", List.of(0, 0, 1, 1)));
    assertEquals(EngineConfig.Precision.BF16_MIXED, e.precision());
    assertEquals("bf16-mixed", e.precision().word());
    assertTrue(e.tf32());
    int[] placed = new int[6];
    for (int w = 0; w < placed.length; w++) placed[w] = e.deviceOf(w);
    assertEquals(List.of(0, 0, 1, 1, 0, 0), java.util.Arrays.stream(placed).boxed().toList());
  }

  @Test
  void badChoicesNameTheKey() {
    BadConfigException p = assertThrows(BadConfigException.class, () -> load(Map.of("engine.precision", "float16")));
    assertTrue(p.getMessage().startsWith("capi.engine.precision = float16: must be one of float32, float64, bf16-mixed"),
        p.getMessage());
    BadConfigException cpu = assertThrows(BadConfigException.class, () -> load(Map.of("engine.precision", "bf16-mixed")));
    assertTrue(cpu.getMessage().contains("cuda backend only"), cpu.getMessage());
    BadConfigException list = assertThrows(BadConfigException.class, () -> load(Map.of("engine.devices", "x")));
    assertTrue(list.getMessage().startsWith("capi.engine.devices = \"x\": must be a list"), list.getMessage());
    BadConfigException moved = assertThrows(BadConfigException.class, () -> load(Map.of("model.precision", "float64")));
    assertTrue(moved.getMessage().contains("unknown key"), moved.getMessage());
  }
}
