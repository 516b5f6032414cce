package capi.cli;

import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.engine.CapiTrainer;
import capi.engine.checkpoint.CheckpointStore;
import capi.eval.EvalReport;
import capi.eval.Evaluator;
import capi.eval.FeatureSource;
import capi.eval.Probe;
import capi.eval.Scores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `capi eval PATH`: k-NN and linear probes on the frozen features of a checkpoint's teacher, with
 * the raw-pixel and random-initialisation baselines (docs/EVAL.md). The final line is also appended
 * to results/eval.jsonl ({@link Results}).
 */
@Command(name = "eval", description = "Frozen-feature k-NN and linear probes of a checkpoint's teacher.")
public final class EvalCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(EvalCommand.class);

  @Mixin CommonOptions common;

  @Parameters(index = "0", paramLabel = "PATH", description = "A run directory or a checkpoint directory.")
  Path path;

  @Option(names = "--dataset", description = "Labelled dataset SPEC (default capi.eval.dataset, fashion-mnist).")
  String dataset;

  @Option(names = "--probe", defaultValue = "all", description = "knn | linear | all")
  String probe;

  @Option(names = "--results", paramLabel = "FILE",
      description = "Append the result here (default: results/eval.jsonl of the checkout ./capi runs from).")
  Path results;

  @Override
  public Integer call() throws Exception {
    Probe probes = switch (probe) {
      case "knn" -> Probe.KNN;
      case "linear" -> Probe.LINEAR;
      case "all" -> Probe.ALL;
      default -> throw new BadConfigException("--probe " + probe + ": must be one of knn, linear, all");
    };
    CheckpointStore.Checkpoint checkpoint = CheckpointStore.locate(path, LOG::warn);
    CapiConfig config = config(checkpoint);
    int threads = Runtime.getRuntime().availableProcessors();
    Evaluator evaluator = Evaluator.of(config, probes, false, threads);
    log("checkpoint %s (step %d); %d train and %d test images",
        checkpoint.dir(), checkpoint.step(), evaluator.trainImages(), evaluator.testImages());
    try (CapiTrainer model = CapiTrainer.create(config.model(), config.optim(), 0, threads)) {
      checkpoint.loadInto(model);
      Map<FeatureSource, Scores> teacher = evaluator.evaluate(model);
      teacher.forEach((source, s) -> log("%s: %s", source.label(), describe(s)));
      Scores pixels = evaluator.pixelBaseline();
      log("baseline raw pixels: %s", describe(pixels));
      Scores random = evaluator.randomInitBaseline();
      log("baseline random init (global_repr): %s", describe(random));
      Map<String, Object> context = new LinkedHashMap<>();
      context.put("checkpoint", checkpoint.dir().toString());
      context.put("step", checkpoint.step());
      Results.finish(EvalReport.jsonLine(context, teacher, pixels, random, evaluator.trainImages(), evaluator.testImages()),
          "eval", results);
    }
    return Main.EXIT_OK;
  }

  /** The run's configuration saved with the checkpoint (it fixes the model) under --config, -D and --dataset. */
  private CapiConfig config(CheckpointStore.Checkpoint checkpoint) {
    Path saved = checkpoint.config();
    if (!Files.isRegularFile(saved)) throw new BadConfigException(checkpoint.dir() + ": no " + saved.getFileName());
    return CapiConfig.read(saved, common.configFile, common.dashD().evalDataset(dataset));
  }

  private static String describe(Scores s) {
    String linear = s.linear() == null ? "-" : String.format(Locale.ROOT, "%.4f (lr %g, wd %g)",
        s.linear().top1(), s.linear().learningRate(), s.linear().weightDecay());
    return String.format(Locale.ROOT, "k-NN top-1 %.4f, linear top-1 %s", s.knnTop1(), linear);
  }

  private static void log(String format, Object... args) {
    LOG.info(String.format(Locale.ROOT, format, args));
  }
}
