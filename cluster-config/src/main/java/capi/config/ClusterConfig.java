package capi.config;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A multi-node cluster ({@code capi.cluster.*}, used by `capi node`). Where a value says "from the
 * launcher", {@link ClusterLaunch} fills it in from Slurm's, torchrun's or Kubernetes' environment.
 *
 * @param discovery how the node finds the others (seed nodes, Slurm, torchrun, Kubernetes)
 * @param minNodes nodes to wait for before training starts; 0 = the launcher's node count, else 1
 * @param minNodesToContinue nodes a started run needs to go on after it lost some
 * @param host this node's cluster address; "" = from the launcher
 * @param port this node's cluster port; 0 = from the launcher (torchrun: MASTER_PORT), else 25520
 * @param runId the identity every node of the run must present when it joins; "" = the run
 *     directory's absolute path
 * @param bootstrap Pekko Cluster Bootstrap (discovery = kubernetes)
 * @param tls Artery over TLS with mutual authentication
 * @param pekko settings of every node's Pekko actor system, applied over Pekko's defaults (passed
 *     through to Pekko as they are; the only untyped part of the configuration)
 */
public record ClusterConfig(Discovery discovery, int minNodes, int minNodesToContinue, String host, int port,
    String runId, Bootstrap bootstrap, Tls tls, Config pekko) {

  /** The port of a node whose launcher names none (capi.cluster.port = 0). */
  public static final int DEFAULT_PORT = 25520;

  /** How `capi node` finds its cluster. */
  public enum Discovery implements Choice { AUTO, SEED_NODES, SLURM, TORCHRUN, KUBERNETES }

  /**
   * Pekko Cluster Bootstrap: the nodes find each other's management endpoints (contact points)
   * through Pekko Discovery, the lowest forms the cluster, the others join it.
   *
   * @param discoveryMethod kubernetes-api (pods labelled app=serviceName) or config (the endpoints
   *     listed under pekko.discovery.config.services; used by tests)
   * @param serviceName the service whose contact points are looked up
   * @param managementPort this node's Pekko Management HTTP port (its contact point)
   */
  public record Bootstrap(String discoveryMethod, String serviceName, int managementPort) {}

  /**
   * Artery over TLS ({@code tls-tcp}) with mutual authentication: a node without a certificate
   * of the run's CA cannot connect, and every node's certificate must share a subject name (CN or
   * SAN) with the others'. PEM files, re-read when they change (rotation).
   *
   * @param keyFile the node's private key (RSA; PKCS#1 or unencrypted PKCS#8)
   * @param certFile the node's certificate, signed by the CA
   * @param caCertFile the CA's certificate (a root CA)
   */
  public record Tls(boolean enabled, String keyFile, String certFile, String caCertFile) {}

  static ClusterConfig from(Config c) {
    String p = "capi.cluster.";
    int minNodes = Values.nonNegativeInt(c, p + "min-nodes");
    int toContinue = Values.positiveInt(c, p + "min-nodes-to-continue");
    if (minNodes > 0 && toContinue > minNodes) {
      throw BadConfigException.of(p + "min-nodes-to-continue", toContinue, "must be <= capi.cluster.min-nodes (" + minNodes + ")");
    }
    return new ClusterConfig(
        Values.choice(c, p + "discovery", Discovery.class),
        minNodes,
        toContinue,
        Values.string(c, p + "host").trim(),
        Values.port(c, p + "port", 0),
        Values.string(c, p + "run-id"),
        new Bootstrap(Values.oneOf(c, p + "bootstrap.discovery-method", "kubernetes-api", "config"),
            Values.nonBlank(c, p + "bootstrap.service-name"), Values.port(c, p + "bootstrap.management-port", 1)),
        tls(c, p + "tls."),
        c.getConfig(p + "pekko"));
  }

  /** The TLS files must be readable when TLS is on. */
  private static Tls tls(Config c, String p) {
    Tls tls = new Tls(Values.booleanValue(c, p + "enabled"), Values.string(c, p + "key-file"),
        Values.string(c, p + "cert-file"), Values.string(c, p + "ca-cert-file"));
    if (tls.enabled()) {
      for (String key : new String[] {"key-file", "cert-file", "ca-cert-file"}) {
        String file = Values.string(c, p + key);
        if (file.isEmpty() || !Files.isReadable(Path.of(file))) {
          throw BadConfigException.of(p + key, "\"" + file + "\"", "must name a readable PEM file when " + p + "enabled = true");
        }
      }
    }
    return tls;
  }

  /** This node's address for its own endpoints (udp ring, metrics) when they name none: the cluster host, else loopback. */
  String nodeAddress() {
    return host.isEmpty() ? "127.0.0.1" : host;
  }
}
