package capi.actors;

import java.util.List;

/**
 * How a node joins a multi-node cluster (`capi node`): its Artery TCP address and the seed nodes.
 * The first seed node starts the cluster; the others join it.
 */
public record ClusterSettings(String host, int port, List<String> seedNodes) {

  /** The Pekko settings of a cluster node (Artery TCP, seed nodes, split brain resolver). */
  String pekkoConfig() {
    StringBuilder seeds = new StringBuilder();
    for (String s : seedNodes) {
      if (seeds.length() > 0) seeds.append(", ");
      seeds.append("\"pekko://").append(TrainingRun.SYSTEM).append('@').append(s).append('"');
    }
    return "pekko.actor.provider = cluster\n"
        + "pekko.remote.artery.transport = tcp\n"
        + "pekko.remote.artery.canonical.hostname = \"" + host + "\"\n"
        + "pekko.remote.artery.canonical.port = " + port + "\n"
        + "pekko.cluster.seed-nodes = [" + seeds + "]\n"
        + "pekko.actor.serializers.capi-kryo = \"" + KryoSerializer.class.getName() + "\"\n"
        + "pekko.actor.serialization-bindings {\n"
        + "  \"" + Coordinator.Command.class.getName() + "\" = capi-kryo\n"
        + "  \"" + Worker.Command.class.getName() + "\" = capi-kryo\n"
        + "}\n";
  }
}
