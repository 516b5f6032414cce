package capi.monitoring;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The node's Prometheus endpoint, http://HOST:PORT/metrics, alive until {@link #close}. */
public final class MetricsServer implements AutoCloseable {
  private final HTTPServer server;

  private MetricsServer(HTTPServer server) {
    this.server = server;
  }

  /**
   * Serves the metrics on host:port (port 0 picks a free port) and prints
   * {@code {"event":"metrics","port":P,"time":…}} on stdout (CLI.md).
   */
  public static MetricsServer start(CapiMetrics metrics, String host, int port) {
    try {
      HTTPServer server = HTTPServer.builder()
          .hostname(host).port(port).registry(metrics.registry()).buildAndStart();
      System.out.println(JsonLine.event("metrics").add("port", server.getPort()));
      System.out.flush();
      return new MetricsServer(server);
    } catch (IOException e) {
      throw new UncheckedIOException("metrics endpoint on " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  public int port() {
    return server.getPort();
  }

  /** Stops serving and frees the port. */
  @Override
  public void close() {
    server.close();
  }
}
