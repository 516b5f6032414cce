package capi.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CapiMetricsTest {
  static StepReport report(long step, double loss, int worldSize) {
    return new StepReport(step, 64, loss, loss - 1, 5.5, 1e-3, 0.996, 5e-4, 1.25,
        0.5, 0.01, 0.1, 0.02, 0.3, 0.04, 0.03, 4_000_000, worldSize, (int) (step / 10));
  }

  @Test
  void stepsAccumulateAndGaugesHoldTheLastStep() {
    CapiMetrics m = new CapiMetrics();
    double before = System.currentTimeMillis() / 1000.0;
    m.runStarted(100, 2);
    double started = Exposition.of(m.registry()).value("capi_last_step_timestamp_seconds");
    assertTrue(started >= before, "the staleness clock starts with the run");
    assertEquals(started, Exposition.of(m.registry()).value("capi_run_start_timestamp_seconds"));
    m.stepCompleted(report(11, 7.0, 2));
    m.stepCompleted(report(12, 6.5, 2));
    double after = System.currentTimeMillis() / 1000.0;

    Exposition e = Exposition.of(m.registry());
    assertEquals(2, e.value("capi_steps_total"));
    assertEquals(128, e.value("capi_images_total"));
    assertEquals(12, e.value("capi_step"));
    assertEquals(1, e.value("capi_epoch"));
    assertEquals(100, e.value("capi_run_steps"));
    assertEquals(6.5, e.value("capi_loss_capi"));
    assertEquals(5.5, e.value("capi_loss_clustering"));
    assertEquals(0.996, e.value("capi_ema_momentum"));
    assertEquals(2, e.value("capi_step_seconds_count"));
    assertEquals(1.0, e.value("capi_step_seconds_sum"), 1e-12);
    assertEquals(0.6, e.value("capi_step_phase_seconds_total{phase=\"student\"}"), 1e-12);
    assertEquals(8_000_000, e.value("capi_allreduce_bytes_total"));
    // busbw = 2(n-1)/n * bytes / seconds = 1 * 4e6 / 0.04
    assertEquals(1e8, e.value("capi_allreduce_busbw_bytes_per_second"), 1e-3);
    double last = e.value("capi_last_step_timestamp_seconds");
    assertTrue(last >= before && last <= after, last + " not in [" + before + ", " + after + "]");
  }

  @Test
  void callbacksAreReadAtEachScrape() {
    CapiMetrics m = new CapiMetrics();
    assertFalse(Exposition.of(m.registry()).sampleNames().contains("capi_native_memory_bytes"),
        "no native memory series before the runtime supplies one");
    AtomicLong skipped = new AtomicLong(3);
    m.skippedImages(skipped::get);
    m.nativeMemory(() -> 1L << 30);
    assertEquals(3, Exposition.of(m.registry()).value("capi_skipped_images_total"));
    skipped.set(5);
    Exposition e = Exposition.of(m.registry());
    assertEquals(5, e.value("capi_skipped_images_total"));
    assertEquals(1L << 30, e.value("capi_native_memory_bytes"));
  }

  @Test
  void labelledSeries() {
    CapiMetrics m = new CapiMetrics();
    m.recovery("worker-lost");
    m.recovery("worker-lost");
    m.recovery("timeout");
    m.checkpointWritten(2.5);
    m.evalTop1("knn", "global_repr", 0.71);
    Exposition e = Exposition.of(m.registry());
    assertEquals(2, e.value("capi_recoveries_total{reason=\"worker-lost\"}"));
    assertEquals(1, e.value("capi_recoveries_total{reason=\"timeout\"}"));
    assertEquals(1, e.value("capi_checkpoint_write_seconds_count"));
    assertEquals(2.5, e.value("capi_step_phase_seconds_total{phase=\"checkpoint\"}"));
    assertEquals(0.71, e.value("capi_eval_top1{features=\"global_repr\",probe=\"knn\"}"));
  }

  @Test
  void aNewRingDropsTheOldRanksSeries() {
    CapiMetrics m = new CapiMetrics();
    m.runStarted(100, 3);
    for (int r = 0; r < 3; r++) {
      m.rankLag(r, 0.01 * r);
      m.prefetchDepth(r, 2);
    }
    m.stepCompleted(report(1, 7, 3));
    assertEquals(0.02, Exposition.of(m.registry()).value("capi_rank_arrival_lag_seconds{rank=\"2\"}"));
    m.stepCompleted(report(2, 7, 2)); // rank 2 was lost, the ring re-formed with two
    m.rankLag(1, 0.5);
    String text = Exposition.of(m.registry()).text();
    assertFalse(text.contains("rank=\"2\""), text);
    assertTrue(text.contains("capi_rank_arrival_lag_seconds{rank=\"1\"} 0.5"), text);
    assertTrue(Exposition.of(new CapiMetrics().registry()).sampleNames().contains("jvm_memory_used_bytes"),
        "JVM metrics are registered");
  }
}
