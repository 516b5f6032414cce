package capi.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * A training run (capi.train.*): length, batch, workers, seed, limits. {@code workers} 0 means one
 * per device of the engine, which the node resolves before it starts (capi.actors.TrainingRun).
 */
public record TrainConfig(
    long steps,
    int batchSize,
    int workers,
    long seed,
    double maxMinutes,
    String runDir,
    int threadsPerWorker,
    Duration stepTimeout,
    long checksumEvery) {

  public TrainConfig {
    if (workers > 0 && batchSize % workers != 0) {
      throw BadConfigException.of(Keys.TRAIN_BATCH_SIZE, batchSize,
          "must be divisible by the number of workers (" + workers + ")");
    }
  }

  static TrainConfig from(Config c) {
    String t = "capi.train.";
    return new TrainConfig(
        Values.positiveLong(c, t + "steps"),
        Values.positiveInt(c, t + "batch-size"),
        Values.nonNegativeInt(c, t + "workers"),
        Values.longValue(c, t + "seed"),
        Values.doubleIn(c, t + "max-minutes", 0, 1e9),
        Values.string(c, t + "run-dir"),
        Values.nonNegativeInt(c, t + "threads-per-worker"),
        Values.positiveDuration(c, t + "step-timeout"),
        Values.positiveLong(c, t + "checksum-every"));
  }

  /** Threads for each worker's BLAS: the configured value or an even share of the cores. */
  public int effectiveThreadsPerWorker() {
    if (threadsPerWorker > 0) return threadsPerWorker;
    return Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, workers));
  }
}
