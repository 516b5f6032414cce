package capi.cli;

import capi.actors.RunDirectory;
import capi.actors.RunResult;
import capi.actors.TrainingRun;
import capi.config.BadConfigException;
import com.typesafe.config.Config;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** `capi train`: a pretraining run on this machine (an embedded single-node cluster with K workers). */
@Command(name = "train", description = "Pretrain on this machine with K workers.")
public final class TrainCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--preset", description = "Model preset: tiny (default), vit-s, vit-b, vit-l.")
  String preset;

  @Option(names = "--dataset", description = "Dataset SPEC (default fashion-mnist).")
  String dataset;

  @Option(names = "--run-dir", description = "Run directory (default runs/<timestamp>).")
  String runDir;

  @Option(names = "--steps", description = "Steps of the run.")
  Long steps;

  @Option(names = "--workers", description = "Workers on this machine.")
  Integer workers;

  @Option(names = "--batch-size", description = "Global batch of one step.")
  Integer batchSize;

  @Option(names = "--checkpoint-every", description = "Checkpoint every N steps.")
  Long checkpointEvery;

  @Option(names = "--seed", description = "Seed of every random generator.")
  Long seed;

  @Option(names = "--metrics-port", description = "Prometheus port (0 = any free port).")
  Integer metricsPort;

  @Override
  public Integer call() throws Exception {
    Map<String, String> o = new LinkedHashMap<>();
    put(o, "capi.data.dataset", dataset);
    put(o, "capi.train.run-dir", runDir);
    put(o, "capi.train.steps", steps);
    put(o, "capi.train.workers", workers);
    put(o, "capi.train.batch-size", batchSize);
    put(o, "capi.train.checkpoint-every", checkpointEvery);
    put(o, "capi.train.seed", seed);
    put(o, "capi.monitoring.metrics-port", metricsPort);
    Config config = common.load(preset, o);
    Validation.all(config);
    RunDirectory dir = RunDirectory.create(config.getString("capi.train.run-dir"), config);
    try {
      return report(TrainingRun.run(dir.savedConfig(), dir, null));
    } catch (BadConfigException e) {
      dir.deleteIfNoCheckpoint(); // bad input found at start (e.g. a missing dataset): leave nothing behind
      throw e;
    }
  }

  static void put(Map<String, String> overrides, String key, Object value) {
    if (value != null) overrides.put(key, value.toString());
  }

  /** Prints the final line (CLI.md) and returns the exit status. */
  static int report(RunResult r) {
    if (!r.ok()) {
      System.err.println("capi: run failed: " + r.error());
      return Main.EXIT_FAILURE;
    }
    System.out.println(r.json());
    return Main.EXIT_OK;
  }
}
