package capi.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MetricsServerTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void servesOnAFreePortPrintsItAndStops() throws Exception {
    CapiMetrics metrics = new CapiMetrics();
    metrics.stepCompleted(CapiMetricsTest.report(7, 6.0, 1));
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    MetricsServer server;
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      server = MetricsServer.start(metrics, "127.0.0.1", 0);
    } finally {
      System.setOut(stdout);
    }
    int port = server.port();
    try (server) {
      assertTrue(port > 0);
      String line = captured.toString(StandardCharsets.UTF_8).trim();
      assertTrue(line.matches("\\{\"event\":\"metrics\",\"port\":" + port
          + ",\"time\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d)\"}"), line);
      HttpResponse<String> r = get(port);
      assertEquals(200, r.statusCode());
      assertTrue(r.body().contains("\ncapi_step 7.0\n"), r.body());
      assertTrue(r.body().contains("\njvm_threads_current "), "JVM metrics are served");
    }
    assertThrows(ConnectException.class, () -> get(port));
  }

  private static HttpResponse<String> get(int port) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
