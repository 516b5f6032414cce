package capi.cli;

import capi.actors.RunDirectory;
import capi.actors.TrainingRun;
import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.config.Overrides;
import capi.engine.checkpoint.CheckpointStore;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `capi resume RUN_DIR`: continues a run from its newest valid checkpoint, with its saved
 * configuration. A run without one (never checkpointed, or every checkpoint damaged) is refused
 * (exit 2, saying what was found, nothing changed) unless {@code --from-scratch} asks to start it
 * again at step 0.
 */
@Command(name = "resume", description = "Continue a run from its latest valid checkpoint.")
public final class ResumeCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ResumeCommand.class);

  @Mixin CommonOptions common;

  @Parameters(index = "0", paramLabel = "RUN_DIR")
  Path runDir;

  @Option(names = "--steps", description = "Total steps of the run (default: as saved).")
  Long steps;

  @Option(names = "--from-scratch", description = "For a run without a valid checkpoint: start again at step 0; "
      + "its checkpoints and metrics.jsonl are moved to RUN_DIR/abandoned-<time>/.")
  boolean fromScratch;

  @Override
  public Integer call() throws Exception {
    RunDirectory dir = RunDirectory.open(runDir);
    CheckpointStore.Scan scan = new CheckpointStore(dir.checkpoints(), 1, LOG::warn).scan();
    if (scan.newest().isPresent() && fromScratch) {
      throw new BadConfigException(runDir + " holds a valid checkpoint (step " + scan.newest().get().step()
          + "): resume it without --from-scratch, or train a new run");
    }
    if (scan.newest().isEmpty()) {
      if (!fromScratch) {
        throw new BadConfigException(runDir + " holds " + scan.describe() + ", so there is nothing to resume "
            + "(nothing was changed); `capi resume " + runDir + " --from-scratch` starts it again at step 0");
      }
      LOG.warn("starting {} again at step 0; its checkpoints and metrics.jsonl are kept in {}", runDir,
          dir.setAsideForFreshStart());
    }
    Overrides o = common.dashD().steps(steps);
    CapiConfig config = dir.savedConfig(o);
    if (!o.isEmpty()) dir.saveConfig(config);
    return TrainCommand.report(TrainingRun.run(config, dir, null));
  }
}
