package capi.config;

import com.typesafe.config.Config;
import java.time.Duration;

/** A training run (capi.train.*): length, batch, workers, checkpoints, seed, limits. */
public record TrainConfig(
    long steps,
    int batchSize,
    int workers,
    long checkpointEvery,
    int keepCheckpoints,
    long seed,
    double maxMinutes,
    String runDir,
    int threadsPerWorker,
    Duration stepTimeout,
    long checksumEvery) {

  public TrainConfig {
    if (batchSize % workers != 0) {
      throw BadConfigException.of("capi.train.batch-size", batchSize,
          "must be divisible by the number of workers (" + workers + ")");
    }
  }

  public static TrainConfig from(Config c) {
    String t = "capi.train.";
    long steps = CapiConfig.longValue(c, t + "steps");
    if (steps < 1) throw BadConfigException.of(t + "steps", steps, "must be a positive integer");
    long every = CapiConfig.longValue(c, t + "checkpoint-every");
    if (every < 1) throw BadConfigException.of(t + "checkpoint-every", every, "must be a positive integer");
    long checksumEvery = CapiConfig.longValue(c, t + "checksum-every");
    if (checksumEvery < 1) throw BadConfigException.of(t + "checksum-every", checksumEvery, "must be a positive integer");
    return new TrainConfig(
        steps,
        CapiConfig.positiveInt(c, t + "batch-size"),
        CapiConfig.positiveInt(c, t + "workers"),
        every,
        CapiConfig.positiveInt(c, t + "keep-checkpoints"),
        CapiConfig.longValue(c, t + "seed"),
        CapiConfig.doubleIn(c, t + "max-minutes", 0, 1e9),
        c.getString(t + "run-dir"),
        CapiConfig.nonNegativeInt(c, t + "threads-per-worker"),
        CapiConfig.positiveDuration(c, t + "step-timeout"),
        checksumEvery);
  }

  /** Threads for each worker's BLAS: the configured value or an even share of the cores. */
  public int effectiveThreadsPerWorker() {
    if (threadsPerWorker > 0) return threadsPerWorker;
    return Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
  }
}
