package capi.actors;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * The root actor of a node: starts this node's workers (each on the blocking worker dispatcher) and
 * the coordinator — directly on a single node, as a cluster singleton in a cluster (so it moves to a
 * surviving node if its node dies). When all of this node's workers have stopped (the coordinator
 * stops them at the end of the run), a node that does not hold the coordinator reports that it is done.
 */
public final class NodeGuardian {
  /** Pekko settings of a node: the dispatcher whose threads workers may block. */
  public static final String WORKER_DISPATCHER = "capi-worker-dispatcher";

  private static final String COORDINATOR_STOPPED = "coordinator-stopped";

  private NodeGuardian() {}

  public static Behavior<Void> create(RunSpec spec, List<Worker.Setup> workers, boolean cluster) {
    return Behaviors.<Object>setup(ctx -> {
      // A coordinator that throws is restarted: it finds the workers again, forms a new ring
      // generation and resumes from the newest checkpoint. Past the limit it stays stopped.
      Behavior<Coordinator.Command> coordinator = Behaviors.supervise(Coordinator.create(spec, cluster))
          .onFailure(Exception.class, SupervisorStrategy.restart().withLimit(3, Duration.ofMinutes(10)));
      if (cluster) {
        ClusterSingleton.get(ctx.getSystem()).init(SingletonActor.of(coordinator, "coordinator"));
      } else {
        ctx.watchWith(ctx.spawn(coordinator, "coordinator"), COORDINATOR_STOPPED);
      }
      int[] alive = {workers.size()};
      for (int i = 0; i < workers.size(); i++) {
        ActorRef<Worker.Command> w = ctx.spawn(Worker.create(workers.get(i)), "worker-" + i,
            DispatcherSelector.fromConfig(WORKER_DISPATCHER));
        ctx.watch(w);
      }
      return Behaviors.<Object>receive(Object.class)
          .onMessageEquals(COORDINATOR_STOPPED, () -> {
            spec.result().complete(RunResult.failed(
                "the coordinator failed repeatedly; see the log (checkpoints are intact: capi resume)", false));
            return Behaviors.same();
          })
          .onSignal(Terminated.class, t -> {
            if (--alive[0] == 0) workersStopped(spec.result());
            return Behaviors.same();
          })
          .build();
    }).narrow();
  }

  private static void workersStopped(CompletableFuture<RunResult> result) {
    result.complete(RunResult.workerNodeDone());
  }
}
