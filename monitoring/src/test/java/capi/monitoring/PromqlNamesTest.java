package capi.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PromqlNamesTest {
  @Test
  void findsOnlyMetricNames() {
    assertEquals(Set.of("capi_step_seconds_bucket"), PromqlNames.of(
        "histogram_quantile(0.99, sum by (le) (rate(capi_step_seconds_bucket{job=\"capi\"}[$__rate_interval])))"));
    assertEquals(Set.of("capi_step_phase_seconds_total", "capi_steps_total"), PromqlNames.of(
        "sum by (phase) (rate(capi_step_phase_seconds_total{phase=~\"a|b\"}[5m])) / ignoring(phase) group_left"
            + " sum(rate(capi_steps_total[1e1s]))"));
    assertEquals(Set.of("capi_recoveries_total"), PromqlNames.of(
        "increase(capi_recoveries_total[10m]) > 0 or (capi_recoveries_total unless capi_recoveries_total offset 10m)"));
    assertEquals(Set.of("capi_loss_capi"), PromqlNames.of("capi_loss_capi != capi_loss_capi or abs(capi_loss_capi) == +Inf"));
    assertEquals(Set.of("capi_last_step_timestamp_seconds"), PromqlNames.of("time() - capi_last_step_timestamp_seconds > 6e2"));
    assertEquals(Set.of("jvm_memory_used_bytes"), PromqlNames.of("jvm_memory_used_bytes{area='heap',instance=~\"$instance\"}"));
  }
}
