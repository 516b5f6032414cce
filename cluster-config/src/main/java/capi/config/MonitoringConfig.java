package capi.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The monitoring settings ({@code capi.monitoring.*}): where a node serves its Prometheus metrics
 * and how often the console prints a progress line when it is not a terminal.
 *
 * @param metricsPort 0 picks a free port
 * @param metricsHost the address the metrics endpoint binds, e.g. 0.0.0.0 or 127.0.0.1
 */
public record MonitoringConfig(int metricsPort, String metricsHost, Duration progressInterval) {

  public static MonitoringConfig from(Config c) {
    String p = "capi.monitoring.";
    int port = CapiConfig.intValue(c, p + "metrics-port");
    if (port < 0 || port > 65535) throw BadConfigException.of(p + "metrics-port", port, "must be in [0, 65535]");
    String host = c.getString(p + "metrics-host");
    if (host.isBlank()) throw BadConfigException.of(p + "metrics-host", "\"\"", "must be a host name or address");
    return new MonitoringConfig(port, host, CapiConfig.positiveDuration(c, p + "progress-interval"));
  }
}
