package capi.monitoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shipped monitoring files (the repository's monitoring/ folder, found from any module's
 * directory) and the PromQL expressions in them.
 */
public final class MonitoringFiles {
  private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.*),\\s*\\w+\\)");

  private MonitoringFiles() {}

  /** monitoring/ of the repository that holds the working directory. */
  public static Path dir() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path m = d.resolve("monitoring");
      if (Files.isRegularFile(m.resolve("grafana/capi-dashboard.json"))) return m;
      if (Files.isRegularFile(d.resolve("grafana/capi-dashboard.json"))) return d;
    }
    throw new IllegalStateException("no monitoring/grafana/capi-dashboard.json above " + Path.of("").toAbsolutePath());
  }

  public static Path dashboardFile() {
    return dir().resolve("grafana/capi-dashboard.json");
  }

  public static Path alertsFile() {
    return dir().resolve("prometheus/alerts.yml");
  }

  public static JsonNode dashboard() {
    return read(new ObjectMapper(), dashboardFile());
  }

  /** The expr of every panel target (rows included), with Grafana's variables left in. */
  public static List<String> dashboardExpressions() {
    List<String> exprs = new ArrayList<>();
    addTargets(dashboard().get("panels"), exprs);
    return exprs;
  }

  /** The series selectors of the dashboard's label_values(...) variables. */
  public static List<String> variableSelectors() {
    List<String> selectors = new ArrayList<>();
    for (JsonNode v : dashboard().path("templating").path("list")) {
      Matcher m = LABEL_VALUES.matcher(v.path("definition").asText());
      if (m.matches()) selectors.add(m.group(1));
    }
    return selectors;
  }

  public static List<String> alertExpressions() {
    List<String> exprs = new ArrayList<>();
    for (JsonNode group : read(new YAMLMapper(), alertsFile()).get("groups")) {
      for (JsonNode rule : group.get("rules")) exprs.add(rule.get("expr").asText());
    }
    return exprs;
  }

  /**
   * An expression of the dashboard as Grafana sends it to Prometheus: $__rate_interval, $__range,
   * $__interval become {@code window}, an All-valued $instance becomes ".*".
   */
  private static String asGrafanaSends(String expr, String window) {
    return expr.replace("$__rate_interval", window).replace("$__range", window).replace("$__interval", window)
        .replace("$instance", ".*");
  }

  /**
   * The dashboard's queries (as Grafana sends them, windows = {@code window}) for which the
   * Prometheus finds no series now. Rate windows need two scrapes within {@code window}.
   */
  public static List<String> dashboardQueriesWithoutSeries(PrometheusServer prometheus, String window) {
    List<String> empty = new ArrayList<>();
    for (String expr : dashboardExpressions()) {
      String sent = asGrafanaSends(expr, window);
      if (prometheus.query(sent).isEmpty()) empty.add(sent);
    }
    return empty;
  }

  private static void addTargets(JsonNode panels, List<String> exprs) {
    for (JsonNode p : panels) {
      for (JsonNode t : p.path("targets")) exprs.add(t.get("expr").asText());
      addTargets(p.path("panels"), exprs); // a collapsed row holds its panels
    }
  }

  private static JsonNode read(ObjectMapper mapper, Path file) {
    try {
      return mapper.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": " + e.getMessage(), e);
    }
  }
}
