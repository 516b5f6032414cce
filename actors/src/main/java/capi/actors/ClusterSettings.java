package capi.actors;

import capi.config.ClusterConfig;
import capi.config.ClusterLaunch;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a node joins a multi-node cluster (`capi node`), as Pekko settings: Artery over TCP, or over
 * TLS with mutual authentication (capi.cluster.tls); the seed nodes, or Cluster Bootstrap; the run
 * identity every joining node must match (RunIdentityCheck); the split brain resolver's lease in
 * the run directory (RunDirectoryLease).
 *
 * @param cluster the node's cluster configuration
 * @param launch where the node is and whom it joins (ClusterLaunch)
 * @param runId the run's identity
 * @param runDirectory the shared run directory (holds the lease)
 */
public record ClusterSettings(ClusterConfig cluster, ClusterLaunch launch, String runId, Path runDirectory) {
  /** The lease's configuration section (reference.conf: capi.cluster.pekko.coordination...). */
  private static final String LEASE = "pekko.coordination.capi-run-directory-lease";

  /** The settings of a cluster node, over the run's pekko section and Pekko's defaults. */
  Config pekkoConfig() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("pekko.actor.provider", "cluster");
    s.put("pekko.remote.artery.canonical.hostname", launch.host());
    s.put("pekko.remote.artery.canonical.port", launch.port());
    s.put("pekko.remote.artery.transport", cluster.tls().enabled() ? "tls-tcp" : "tcp");
    if (cluster.tls().enabled()) {
      String engine = "pekko.remote.artery.ssl.rotating-keys-engine.";
      s.put("pekko.remote.artery.ssl.ssl-engine-provider", "org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider");
      s.put(engine + "key-file", cluster.tls().keyFile());
      s.put(engine + "cert-file", cluster.tls().certFile());
      s.put(engine + "ca-cert-file", cluster.tls().caCertFile());
    }
    List<String> seeds = new ArrayList<>();
    for (String hostPort : launch.seedNodes()) seeds.add("pekko://" + TrainingRun.SYSTEM + "@" + hostPort);
    s.put("pekko.cluster.seed-nodes", seeds);
    s.put(RunIdentityCheck.KEY, runId);
    s.put("pekko.cluster.configuration-compatibility-check.checkers.capi-run-id", RunIdentityCheck.class.getName());
    s.put(LEASE + ".directory", runDirectory.resolve("cluster-lease").toString());
    if (launch.bootstrap()) {
      ClusterConfig.Bootstrap b = cluster.bootstrap();
      String discovery = "pekko.management.cluster.bootstrap.contact-point-discovery.";
      s.put("pekko.management.http.hostname", launch.host());
      s.put("pekko.management.http.port", b.managementPort());
      s.put(discovery + "service-name", b.serviceName());
      s.put(discovery + "discovery-method", b.discoveryMethod());
      s.put(discovery + "port-name", "management");
      // Form a new cluster only when all the nodes to start with are visible; join a running one at once.
      s.put(discovery + "required-contact-point-nr", launch.minNodes());
    }
    s.put("pekko.actor.serializers.capi-kryo", KryoSerializer.class.getName());
    s.put("pekko.actor.serialization-bindings.\"" + Coordinator.Command.class.getName() + "\"", "capi-kryo");
    s.put("pekko.actor.serialization-bindings.\"" + Worker.Command.class.getName() + "\"", "capi-kryo");
    return ConfigFactory.parseMap(s, "capi node");
  }
}
