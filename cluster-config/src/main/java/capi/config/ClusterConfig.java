package capi.config;

import com.typesafe.config.Config;

/**
 * A multi-node cluster ({@code capi.cluster.*}, used by `capi node`).
 *
 * @param minNodes nodes to wait for before training starts
 * @param host this node's cluster (Artery TCP) address
 * @param port this node's cluster port
 * @param pekko settings of every node's Pekko actor system, applied over Pekko's defaults (passed
 *     through to Pekko as they are; the only untyped part of the configuration)
 */
public record ClusterConfig(int minNodes, String host, int port, Config pekko) {

  static ClusterConfig from(Config c) {
    String p = "capi.cluster.";
    return new ClusterConfig(
        Values.positiveInt(c, p + "min-nodes"),
        Values.host(c, p + "host"),
        Values.port(c, p + "port", 1),
        c.getConfig(p + "pekko"));
  }
}
