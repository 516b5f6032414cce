package capi.cli;

import capi.actors.RunDirectory;
import capi.actors.TrainingRun;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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
    Map<String, String> o = new LinkedHashMap<>(common.overrides);
    RunOptions.put(o, "capi.train.steps", steps);
    Config config = ConfigFactory.parseMap(o).withFallback(dir.savedConfig()).resolve();
    Validation.all(config);
    if (!o.isEmpty()) dir.saveConfig(config);
    return TrainCommand.report(TrainingRun.run(config, dir, null));
  }
}
