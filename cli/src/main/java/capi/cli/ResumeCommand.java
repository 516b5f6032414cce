package capi.cli;

import capi.actors.RunDirectory;
import capi.actors.TrainingRun;
import capi.config.CapiConfig;
import capi.config.Overrides;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `capi resume RUN_DIR`: continues a run from its newest valid checkpoint, with its saved configuration. */
@Command(name = "resume", description = "Continue a run from its latest valid checkpoint.")
public final class ResumeCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Parameters(index = "0", paramLabel = "RUN_DIR")
  Path runDir;

  @Option(names = "--steps", description = "Total steps of the run (default: as saved).")
  Long steps;

  @Override
  public Integer call() throws Exception {
    RunDirectory dir = RunDirectory.open(runDir);
    Overrides o = common.dashD().steps(steps);
    CapiConfig config = dir.savedConfig(o);
    if (!o.isEmpty()) dir.saveConfig(config);
    return TrainCommand.report(TrainingRun.run(config, dir, null));
  }
}
