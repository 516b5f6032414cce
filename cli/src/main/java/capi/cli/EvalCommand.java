package capi.cli;

import capi.actors.RunDirectory;
import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.engine.CapiTrainer;
import capi.engine.checkpoint.CheckpointStore;
import capi.engine.checkpoint.SafeTensors;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `capi eval PATH`: k-NN and linear probes on the frozen features of a checkpoint's teacher, with
 * the raw-pixel and random-initialisation baselines (docs/EVAL.md).
 */
@Command(name = "eval", description = "Frozen-feature k-NN and linear probes of a checkpoint's teacher.")
public final class EvalCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Parameters(index = "0", paramLabel = "PATH", description = "A run directory or a checkpoint directory.")
  Path path;

  @Option(names = "--dataset", description = "Labelled dataset SPEC (default capi.eval.dataset, fashion-mnist).")
  String dataset;

  @Option(names = "--probe", defaultValue = "all", description = "knn | linear | all")
  String probe;

  @Override
  public Integer call() throws Exception {
    Probe probes = switch (probe) {
      case "knn" -> Probe.KNN;
      case "linear" -> Probe.LINEAR;
      case "all" -> Probe.ALL;
      default -> throw new BadConfigException("--probe " + probe + ": must be one of knn, linear, all");
    };
    CheckpointStore.Checkpoint checkpoint = CheckpointStore.locate(path, System.err::println);
    CapiConfig config = config(checkpoint.dir());
    int threads = Runtime.getRuntime().availableProcessors();
    Evaluator evaluator = Evaluator.of(config, probes, false, threads);
    log("checkpoint %s (step %d); %d train and %d test images",
        checkpoint.dir(), checkpoint.step(), evaluator.trainImages(), evaluator.testImages());
    try (CapiTrainer model = CapiTrainer.create(config.model(), config.optim(), 0, threads)) {
      model.loadState(SafeTensors.read(checkpoint.dir().resolve(CheckpointStore.MODEL_FILE)));
      Map<FeatureSource, Scores> teacher = evaluator.evaluate(model);
      teacher.forEach((source, s) -> log("%s: %s", source.label(), describe(s)));
      Scores pixels = evaluator.pixelBaseline();
      log("baseline raw pixels: %s", describe(pixels));
      Scores random = evaluator.randomInitBaseline();
      log("baseline random init (global_repr): %s", describe(random));
      Map<String, Object> context = new LinkedHashMap<>();
      context.put("checkpoint", checkpoint.dir().toString());
      context.put("step", checkpoint.step());
      System.out.println(EvalReport.jsonLine(
          context, teacher, pixels, random, evaluator.trainImages(), evaluator.testImages()));
    }
    return Main.EXIT_OK;
  }

  /** The run's saved configuration (it fixes the model) under --config, -D and --dataset. */
  private CapiConfig config(Path checkpointDir) {
    Path saved = checkpointDir.resolve(RunDirectory.CONFIG);
    if (!Files.isRegularFile(saved)) throw new BadConfigException(checkpointDir + ": no " + RunDirectory.CONFIG);
    return CapiConfig.read(saved, common.configFile, common.dashD().evalDataset(dataset));
  }

  private static String describe(Scores s) {
    String linear = s.linear() == null ? "-" : String.format(Locale.ROOT, "%.4f (lr %g, wd %g)",
        s.linear().top1(), s.linear().learningRate(), s.linear().weightDecay());
    return String.format(Locale.ROOT, "k-NN top-1 %.4f, linear top-1 %s", s.knnTop1(), linear);
  }

  private static void log(String format, Object... args) {
    System.err.println("capi eval: " + String.format(Locale.ROOT, format, args));
  }
}
