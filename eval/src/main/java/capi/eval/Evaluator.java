package capi.eval;

import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.config.DataConfig;
import capi.config.EvalConfig;
import capi.config.Keys;
import capi.config.ModelConfig;
import capi.config.OptimConfig;
import capi.data.BatchShape;
import capi.data.Datasets;
import capi.engine.CapiTrainer;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Frozen-feature evaluation of a model's teacher on a labelled dataset: k-NN and linear probes on
 * each {@link FeatureSource}, and the same probes on two baselines (raw pixels, and a randomly
 * initialised model of the same shape), which are computed once and kept. One instance serves
 * every periodic evaluation of a run; its images are read again each time, its splits stay fixed.
 */
public final class Evaluator {
  private final EvalConfig config;
  private final ModelConfig model;
  private final OptimConfig optim;
  private final EvalImages train;
  private final EvalImages test;
  private final Probe probe;
  private final int threads;
  private Scores pixels;
  private Scores randomInit;

  public Evaluator(EvalConfig config, ModelConfig model, OptimConfig optim, EvalImages train, EvalImages test,
      Probe probe, int threads) {
    if (train.classes() != test.classes()) {
      throw BadConfigException.of(Keys.EVAL_TEST_DATASET, test.classes() + " classes",
          "the train split has " + train.classes());
    }
    this.config = config;
    this.model = model;
    this.optim = optim;
    this.train = train;
    this.test = test;
    this.probe = probe;
    this.threads = threads;
  }

  /**
   * Opens the evaluation splits of {@code c} for its model.
   *
   * @param periodic use the periodic-* image limits (during training) instead of the full ones
   */
  public static Evaluator of(CapiConfig c, Probe probe, boolean periodic, int threads) {
    EvalConfig e = c.eval();
    EvalSplits splits = EvalSplits.of(e);
    BatchShape shape = BatchShape.of(c.model());
    DataConfig data = c.data();
    EvalImages train = new EvalImages(Datasets.open(splits.train()), shape, data,
        periodic ? e.periodicTrainSamples() : e.trainSamples(), e.seed(), e.batchSize());
    EvalImages test = new EvalImages(Datasets.open(splits.test()), shape, data,
        periodic ? e.periodicTestSamples() : e.testSamples(), e.seed(), e.batchSize());
    return new Evaluator(e, c.model(), c.optim(), train, test, probe, threads);
  }

  public int trainImages() {
    return train.size();
  }

  public int testImages() {
    return test.size();
  }

  /** The probes on every feature source of {@code model}'s teacher. */
  public Map<FeatureSource, Scores> evaluate(CapiTrainer teacher) {
    Set<FeatureSource> sources = EnumSet.allOf(FeatureSource.class);
    if (model.registers() == 0) sources.remove(FeatureSource.REGISTERS);
    Map<FeatureSource, FeatureSet> trainFeatures = FeatureExtractor.extract(teacher, train, sources);
    Map<FeatureSource, FeatureSet> testFeatures = FeatureExtractor.extract(teacher, test, sources);
    Map<FeatureSource, Scores> scores = new EnumMap<>(FeatureSource.class);
    for (FeatureSource s : sources) scores.put(s, probes(trainFeatures.get(s), testFeatures.get(s)));
    return scores;
  }

  /** The probes on the normalised pixels the model would see (computed once). */
  public synchronized Scores pixelBaseline() {
    if (pixels == null) pixels = probes(train.pixels(), test.pixels());
    return pixels;
  }

  /** The probes on global_repr of a model initialised from capi.eval.seed (computed once). */
  public synchronized Scores randomInitBaseline() {
    if (randomInit == null) {
      try (CapiTrainer fresh = CapiTrainer.create(model, optim, config.seed(), threads)) {
        Set<FeatureSource> global = EnumSet.of(FeatureSource.GLOBAL_REPR);
        randomInit = probes(
            FeatureExtractor.extract(fresh, train, global).get(FeatureSource.GLOBAL_REPR),
            FeatureExtractor.extract(fresh, test, global).get(FeatureSource.GLOBAL_REPR));
      }
    }
    return randomInit;
  }

  /** The probes of {@link #probe} fitted on train and scored on test. */
  Scores probes(FeatureSet trainFeatures, FeatureSet testFeatures) {
    double knn = probe.knn()
        ? new KnnProbe(config.knnK(), config.knnTemperature()).top1(trainFeatures, testFeatures)
        : Double.NaN;
    LinearProbe.Result linear = probe.linear()
        ? new LinearProbe(config.linearEpochs(), config.linearBatchSize(), config.linearLearningRates(),
            config.linearWeightDecays(), config.holdoutFraction(), config.seed()).fit(trainFeatures, testFeatures)
        : null;
    return new Scores(knn, linear);
  }
}
