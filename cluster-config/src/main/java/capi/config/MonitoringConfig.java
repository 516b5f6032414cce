package capi.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The monitoring settings ({@code capi.monitoring.*}): where a node serves its Prometheus metrics
 * and how often the console prints a progress line when it is not a terminal.
 *
 * @param metricsPort 0 picks a free port
 * @param metricsHost the address the metrics endpoint binds ("" in reference.conf: the cluster host,
 *     else 127.0.0.1; 0.0.0.0 = every interface)
 */
public record MonitoringConfig(int metricsPort, String metricsHost, Duration progressInterval) {

  static MonitoringConfig from(Config c, String nodeAddress) {
    String p = "capi.monitoring.";
    String host = Values.string(c, p + "metrics-host").trim();
    return new MonitoringConfig(Values.port(c, p + "metrics-port", 0), host.isEmpty() ? nodeAddress : host,
        Values.positiveDuration(c, p + "progress-interval"));
  }
}
