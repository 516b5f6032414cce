package capi.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The shipped dashboard, alert rules and Prometheus configurations agree with the exporter. */
class MonitoringFilesTest {
  /** Every sample name a node exports once every kind of event has happened. */
  static Set<String> exportedNames() {
    CapiMetrics metrics = new CapiMetrics();
    FakeRun run = new FakeRun(metrics, 100);
    for (int i = 0; i < 5; i++) run.step();
    run.rareEvents();
    return Exposition.of(metrics.registry()).sampleNames();
  }

  @Test
  void everyExpressionReadsOnlyExportedMetrics() {
    Set<String> exported = exportedNames();
    assertTrue(exported.containsAll(Set.of("capi_steps_total", "capi_step_seconds_bucket",
        "capi_step_seconds_sum", "capi_step_seconds_count", "process_cpu_seconds_total")), exported.toString());
    List<String> expressions = new ArrayList<>(MonitoringFiles.dashboardExpressions());
    expressions.addAll(MonitoringFiles.variableSelectors());
    expressions.addAll(MonitoringFiles.alertExpressions());
    assertTrue(expressions.size() > 30, expressions.toString());

    List<String> wrong = new ArrayList<>();
    for (String expr : expressions) {
      Set<String> names = PromqlNames.of(expr);
      Set<String> unknown = new TreeSet<>(names);
      unknown.removeAll(exported);
      unknown.remove("up"); // Prometheus's own series of each target
      if (names.isEmpty() || !unknown.isEmpty()) wrong.add(expr + "  ->  " + (names.isEmpty() ? "no metric" : unknown));
    }
    assertEquals(List.of(), wrong, "expressions with unknown metric names; exported: " + exported);
  }

  @Test
  void theDashboardShowsTheIssuesPanelsThroughItsDatasourceVariable() {
    Set<String> used = new HashSet<>();
    MonitoringFiles.dashboardExpressions().forEach(e -> used.addAll(PromqlNames.of(e)));
    for (String needed : List.of("capi_loss_capi", "capi_loss_clustering", "capi_images_total",
        "capi_step_phase_seconds_total", "capi_step_seconds_bucket", "capi_allreduce_busbw_bytes_per_second",
        "capi_rank_arrival_lag_seconds", "capi_recoveries_total", "capi_native_memory_bytes",
        "jvm_memory_used_bytes", "capi_eval_top1", "capi_last_step_timestamp_seconds")) {
      assertTrue(used.contains(needed), "no panel shows " + needed);
    }
    JsonNode dashboard = MonitoringFiles.dashboard();
    JsonNode variable = dashboard.get("templating").get("list").get(0);
    assertEquals("datasource", variable.get("type").asText());
    assertEquals("prometheus", variable.get("query").asText());
    for (JsonNode panel : dashboard.get("panels")) {
      if (panel.get("type").asText().equals("row")) continue;
      String title = panel.get("title").asText();
      assertEquals("${datasource}", panel.get("datasource").get("uid").asText(), title);
      for (JsonNode t : panel.get("targets")) assertEquals("${datasource}", t.get("datasource").get("uid").asText(), title);
      assertFalse(panel.get("fieldConfig").get("defaults").path("unit").asText().isEmpty(), title + " has no unit");
    }
  }

  @Test
  @Timeout(120)
  void prometheusAcceptsTheConfigsAndTheAlertRulesPassTheirUnitTests() throws Exception {
    Path prometheus = MonitoringFiles.dir().resolve("prometheus");
    promtool(prometheus, "check", "config", "prometheus-node.yml");
    promtool(prometheus, "check", "config", "prometheus-cluster.yml");
    promtool(prometheus, "test", "rules", "alerts-test.yml");
  }

  private static void promtool(Path dir, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(System.getenv().getOrDefault("PROMTOOL", "promtool")));
    command.addAll(List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command.get(0) + ": install Prometheus (it brings promtool) with ./scripts/setup ("
          + e.getMessage() + ")", e);
    }
    try {
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), command + " did not finish in 60 s");
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), command + ":\n" + out);
    } finally {
      p.destroyForcibly();
    }
  }
}
