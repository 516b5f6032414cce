package capi.actors;

import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;

/** The cluster side of a node's actor system: Cluster Bootstrap, and why the system ended. */
final class ClusterNode {
  private ClusterNode() {}

  /** Starts the management endpoint and Cluster Bootstrap when the node finds its cluster that way. */
  static void start(ActorSystem<?> system, ClusterSettings settings) {
    if (!settings.launch().bootstrap()) return;
    org.apache.pekko.actor.ActorSystem classic = Adapter.toClassic(system);
    PekkoManagement.get(classic).start();
    ClusterBootstrap.get(classic).start();
  }

  /** Whether the system is shutting down because the cluster downed this node or refused its join. */
  static boolean refusedOrDowned(ActorSystem<?> system) {
    CoordinatedShutdown.Reason reason = CoordinatedShutdown.get(system).getShutdownReason().orElse(null);
    return reason == CoordinatedShutdown.clusterDowningReason()
        || reason == CoordinatedShutdown.incompatibleConfigurationDetectedReason()
        || reason == CoordinatedShutdown.clusterJoinUnsuccessfulReason();
  }

  /** Why an actor system ended before its run did, in the words of the exit message. */
  static String whyTerminated(ActorSystem<?> system) {
    CoordinatedShutdown.Reason reason = CoordinatedShutdown.get(system).getShutdownReason()
        .orElse(CoordinatedShutdown.unknownReason());
    String why;
    if (reason == CoordinatedShutdown.clusterDowningReason()) {
      why = "this node was downed: the cluster lost contact with it (split brain resolver), or it was restarted";
    } else if (reason == CoordinatedShutdown.incompatibleConfigurationDetectedReason()) {
      why = "the cluster refused this node: it belongs to another run (capi.cluster.run-id) or its cluster settings differ";
    } else if (reason == CoordinatedShutdown.clusterJoinUnsuccessfulReason()) {
      why = "no seed node answered within pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes";
    } else if (reason == CoordinatedShutdown.clusterLeavingReason()) {
      why = "this node left the cluster";
    } else {
      why = "reason: " + reason;
    }
    return "the node's actor system stopped before the run ended (" + why + "); the run's checkpoints are intact";
  }
}
