package capi.cli;

import capi.actors.RunDirectory;
import capi.actors.RunResult;
import capi.actors.TrainingRun;
import capi.config.BadConfigException;
import capi.config.CapiConfig;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `capi train`: a pretraining run on this machine (an embedded single-node cluster with K workers). */
@Command(name = "train", description = "Pretrain on this machine with K workers.")
public final class TrainCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Mixin RunOptions run;

  @Override
  public Integer call() throws Exception {
    CapiConfig config = common.load(run.overrides());
    RunDirectory dir = RunDirectory.create(config);
    RunResult result;
    try {
      result = TrainingRun.run(config, dir, null);
    } catch (BadConfigException e) {
      dir.discardIfNew(); // bad input found at start (e.g. a missing dataset): leave nothing of ours behind
      throw e;
    }
    if (result.badInput()) dir.discardIfNew();
    return report(result);
  }

  /** Prints the final line (CLI.md) and returns the exit status: 2 when the input is at fault. */
  static int report(RunResult r) {
    if (!r.ok()) {
      System.err.println("capi: run failed: " + r.error());
      return r.badInput() ? Main.EXIT_BAD_INPUT : Main.EXIT_FAILURE;
    }
    System.out.println(r.json());
    return Main.EXIT_OK;
  }
}
