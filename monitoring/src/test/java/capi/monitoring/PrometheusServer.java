package capi.monitoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real Prometheus server for tests (Debian's {@code prometheus}; scripts/setup installs it):
 * bound to 127.0.0.1 on a free port, storage in a given temporary directory, scraping one target
 * every second as job "capi" (the job the dashboard and alert rules expect), evaluating the given
 * rule files every second. Started as a child process and stopped by its pid on {@link #close};
 * every wait is bounded. Queries go through the HTTP API. Other modules use it through
 * monitoring's test-jar (they need jackson-databind as a test dependency too).
 */
public final class PrometheusServer implements AutoCloseable {
  /** One element of an instant-vector result (a scalar result has no labels). */
  public record Sample(Map<String, String> labels, double value) {}

  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process process;
  private final URI url;
  private final Path log;
  private final Thread killOnExit;

  private PrometheusServer(Process process, URI url, Path log) {
    this.process = process;
    this.url = url;
    this.log = log;
    this.killOnExit = new Thread(process::destroyForcibly, "prometheus-" + process.pid() + "-kill");
    Runtime.getRuntime().addShutdownHook(killOnExit);
  }

  /**
   * Starts Prometheus (the binary $PROMETHEUS, else prometheus on the PATH) and waits until
   * /-/ready answers.
   *
   * @param dir an empty temporary directory for its configuration, data and log
   * @param target the host:port of the /metrics endpoint to scrape
   * @param ruleFiles alert or recording rule files to load
   */
  public static PrometheusServer start(Path dir, String target, Path... ruleFiles) throws IOException {
    Path config = dir.resolve("prometheus.yml");
    Map<String, Object> yaml = new LinkedHashMap<>(); // JSON is YAML
    yaml.put("global", Map.of("scrape_interval", "1s", "evaluation_interval", "1s"));
    yaml.put("rule_files", Arrays.stream(ruleFiles).map(p -> p.toAbsolutePath().toString()).toList());
    yaml.put("scrape_configs", List.of(Map.of(
        "job_name", "capi", "static_configs", List.of(Map.of("targets", List.of(target))))));
    JSON.writeValue(config.toFile(), yaml);

    int port = freePort();
    Path log = dir.resolve("prometheus.log");
    String binary = System.getenv().getOrDefault("PROMETHEUS", "prometheus");
    Process process;
    try {
      process = new ProcessBuilder(binary,
          "--config.file=" + config,
          "--storage.tsdb.path=" + dir.resolve("data"),
          "--web.listen-address=127.0.0.1:" + port)
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    } catch (IOException e) {
      throw new AssertionError("cannot run " + binary + ": install Prometheus with ./scripts/setup (" + e.getMessage() + ")", e);
    }
    PrometheusServer server = new PrometheusServer(process, URI.create("http://127.0.0.1:" + port), log);
    try {
      server.awaitReady();
    } catch (RuntimeException | Error e) {
      server.close();
      throw e;
    }
    return server;
  }

  public URI url() {
    return url;
  }

  public long pid() {
    return process.pid();
  }

  /** The instant query's result now; an AssertionError names the query if Prometheus rejects it. */
  public List<Sample> query(String promql) {
    JsonNode data = api("/api/v1/query?query=" + urlEncode(promql));
    List<Sample> samples = new ArrayList<>();
    if (data.get("resultType").asText().equals("scalar")) {
      samples.add(new Sample(Map.of(), number(data.get("result").get(1))));
      return samples;
    }
    for (JsonNode r : data.get("result")) {
      Map<String, String> labels = new LinkedHashMap<>();
      r.get("metric").fields().forEachRemaining(f -> labels.put(f.getKey(), f.getValue().asText()));
      samples.add(new Sample(labels, number(r.get("value").get(1))));
    }
    return samples;
  }

  /** Repeats the query until its result satisfies {@code done}, for at most {@code timeout}. */
  public List<Sample> awaitQuery(String promql, Predicate<List<Sample>> done, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<Sample> result = query(promql);
      if (done.test(result)) return result;
      if (System.nanoTime() > deadline) {
        throw new AssertionError("after " + timeout + ", " + promql + " = " + result + "\n" + logTail());
      }
      pause(250);
    }
  }

  /** GET an API path such as /api/v1/alerts; returns its "data" (AssertionError unless success). */
  public JsonNode api(String pathAndQuery) {
    try {
      HttpResponse<String> r = get(pathAndQuery);
      JsonNode body = JSON.readTree(r.body());
      if (r.statusCode() != 200 || !"success".equals(body.path("status").asText())) {
        throw new AssertionError(pathAndQuery + ": HTTP " + r.statusCode() + " " + r.body());
      }
      return body.get("data");
    } catch (IOException e) {
      throw new UncheckedIOException(pathAndQuery + ": " + e.getMessage(), e);
    }
  }

  /** Names of the alerts in state firing. */
  public List<String> firingAlerts() {
    List<String> names = new ArrayList<>();
    for (JsonNode a : api("/api/v1/alerts").get("alerts")) {
      if (a.get("state").asText().equals("firing")) names.add(a.get("labels").get("alertname").asText());
    }
    return names;
  }

  /** The last lines of Prometheus's log, for failure messages. */
  public String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Stops Prometheus by its pid (SIGTERM, then SIGKILL after 20 s). */
  @Override
  public void close() {
    try {
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(killOnExit);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      if (!process.isAlive()) {
        throw new AssertionError("prometheus exited with " + process.exitValue() + ":\n" + logTail());
      }
      try {
        if (get("/-/ready").statusCode() == 200) return;
      } catch (ConnectException notYet) {
        // still starting
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (System.nanoTime() > deadline) throw new AssertionError("prometheus not ready after " + START_TIMEOUT + ":\n" + logTail());
      pause(100);
    }
  }

  private HttpResponse<String> get(String pathAndQuery) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(url.resolve(pathAndQuery)).timeout(Duration.ofSeconds(10)).build();
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  // Prometheus writes sample values as strings: "1.5", "NaN", "+Inf", "-Inf".
  private static double number(JsonNode v) {
    return switch (v.asText()) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      default -> Double.parseDouble(v.asText());
    };
  }

  private static String urlEncode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
