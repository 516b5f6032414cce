package capi.cli;

import capi.config.Overrides;
import picocli.CommandLine.Option;

/** The options of a training run that `capi train` and `capi node` share, as configuration overrides. */
public final class RunOptions {
  @Option(names = "--preset", description = "Model preset: tiny (default), vit-s, vit-b, vit-l.")
  String preset;

  @Option(names = "--dataset", description = "Dataset SPEC (default fashion-mnist).")
  String dataset;

  @Option(names = "--run-dir", description = "Run directory (train: default runs/<timestamp>; node: shared by all nodes).")
  String runDir;

  @Option(names = "--steps", description = "Steps of the run.")
  Long steps;

  @Option(names = "--workers", description = "Workers on this machine (0: one per device).")
  Integer workers;

  @Option(names = "--batch-size", description = "Global batch of one step.")
  Integer batchSize;

  @Option(names = "--checkpoint-every", description = "Checkpoint every N steps.")
  Long checkpointEvery;

  @Option(names = "--seed", description = "Seed of every random generator.")
  Long seed;

  @Option(names = "--metrics-port", description = "Prometheus port (0 = any free port).")
  Integer metricsPort;

  /** The given options as overrides (options not given set nothing). */
  Overrides overrides() {
    return Overrides.none().preset(preset).dataset(dataset).runDir(runDir).steps(steps).workers(workers)
        .batchSize(batchSize).checkpointEvery(checkpointEvery).seed(seed).metricsPort(metricsPort);
  }
}
