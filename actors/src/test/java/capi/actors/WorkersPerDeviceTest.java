package capi.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.config.Overrides;
import capi.engine.Backends;
import java.util.List;
import org.junit.jupiter.api.Test;

/** capi.train.workers = 0: one worker per device of the engine, resolved when a node starts. */
class WorkersPerDeviceTest {
  private static CapiConfig config(Overrides o) {
    return CapiConfig.load(null, o.preset("vit-s"));
  }

  @Test
  void theDefaultIsOneWorkerPerDevice() {
    CapiConfig cpu = config(Overrides.none());
    assertEquals(0, cpu.train().workers(), "reference.conf: one per device");
    assertEquals(1, TrainingRun.withWorkers(cpu).train().workers(), "the cpu is one device");
    CapiConfig listed = config(Overrides.none().set("engine.backend", "cuda").set("engine.devices", List.of(0, 0, 1, 1)));
    assertEquals(4, TrainingRun.withWorkers(listed).train().workers(), "one per entry of capi.engine.devices");
    CapiConfig set = config(Overrides.none().set("train.workers", 8));
    assertEquals(8, TrainingRun.withWorkers(set).train().workers(), "a count that is set stays");
  }

  @Test
  void cudaWithoutAVisibleGpuNamesTheKey() {
    CapiConfig cuda = config(Overrides.none().set("engine.backend", "cuda"));
    int gpus = Backends.devices("cuda");
    if (gpus > 0) {
      assertEquals(gpus, TrainingRun.withWorkers(cuda).train().workers(), "every visible GPU");
      return;
    }
    BadConfigException e = assertThrows(BadConfigException.class, () -> TrainingRun.withWorkers(cuda));
    assertTrue(e.getMessage().startsWith("capi.engine.backend = cuda: worker 0 on device 0: backend cuda cannot start: CUDA"),
        "the backend's own reason: " + e.getMessage());
  }
}
