package capi.actors;

import capi.collective.Endpoint;
import capi.config.CheckpointConfig;
import capi.config.CollectiveConfig;
import capi.config.TrainConfig;
import capi.engine.checkpoint.CheckpointStore;
import capi.monitoring.CapiMetrics;
import capi.monitoring.ConsoleProgress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What the coordinator needs to drive a run.
 *
 * @param totalSteps the step count at which the run ends
 * @param expectedWorkers workers (over all nodes) to wait for before the first step
 * @param minNodes nodes to wait for before the first step (capi.cluster.min-nodes)
 * @param minNodesToContinue nodes a started run needs to go on (capi.cluster.min-nodes-to-continue)
 * @param datasetSize samples per epoch (for the epoch metric)
 * @param evalEvery evaluate the teacher every this many steps (0 = never)
 * @param stopRequested set (by a SIGTERM) to end the run after the step in flight, with a checkpoint
 */
public record RunSpec(
    TrainConfig train,
    CheckpointConfig checkpoint,
    CollectiveConfig collective,
    RunDirectory runDir,
    CheckpointStore checkpoints,
    long totalSteps,
    int expectedWorkers,
    int minNodes,
    int minNodesToContinue,
    Schedules schedules,
    long datasetSize,
    long evalEvery,
    CapiMetrics metrics,
    ConsoleProgress progress,
    CompletableFuture<RunResult> result,
    AtomicBoolean stopRequested) {

  /** The coordinator's schedules, indexed by the 0-based step. */
  public interface Schedules {
    double lr(long step);

    double momentum(long step);

    double clusteringLr(long step);
  }

  Endpoint endpoint(String host, String sameHost, int rank) {
    return Endpoint.of(collective, host, sameHost, rank);
  }

  int epochOf(long step) {
    return (int) (step * train.batchSize() / Math.max(1, datasetSize));
  }
}
