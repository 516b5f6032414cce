package capi.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.util.List;

/**
 * Frozen-feature evaluation (capi.eval.*): which labelled dataset, how many images, how often
 * during training, and the settings of the k-NN and linear probes.
 */
public record EvalConfig(
    String dataset,
    String testDataset,
    int trainSamples,
    int testSamples,
    long everySteps,
    int periodicTrainSamples,
    int periodicTestSamples,
    int batchSize,
    int knnK,
    double knnTemperature,
    int linearEpochs,
    int linearBatchSize,
    double[] linearLearningRates,
    double[] linearWeightDecays,
    double holdoutFraction,
    long seed) {

  static EvalConfig from(Config c) {
    String e = "capi.eval.";
    long every = Values.longValue(c, e + "every-steps");
    if (every < 0) throw BadConfigException.of(e + "every-steps", every, "must be >= 0 (0 = never)");
    return new EvalConfig(
        Values.string(c, e + "dataset"),
        Values.string(c, e + "test-dataset"),
        Values.nonNegativeInt(c, e + "train-samples"),
        Values.nonNegativeInt(c, e + "test-samples"),
        every,
        Values.nonNegativeInt(c, e + "periodic-train-samples"),
        Values.nonNegativeInt(c, e + "periodic-test-samples"),
        Values.positiveInt(c, e + "batch-size"),
        Values.positiveInt(c, e + "knn-k"),
        Values.doubleIn(c, e + "knn-temperature", 1e-6, 1e6),
        Values.positiveInt(c, e + "linear-epochs"),
        Values.positiveInt(c, e + "linear-batch-size"),
        grid(c, e + "linear-learning-rates", 1e-9, 10),
        grid(c, e + "linear-weight-decays", 0, 100),
        Values.doubleIn(c, e + "holdout-fraction", 0.01, 0.5),
        Values.longValue(c, e + "seed"));
  }

  /** Whether training evaluates after {@code step} (1-based count of steps done). */
  public boolean evaluatesAfter(long step) {
    return everySteps > 0 && step > 0 && step % everySteps == 0;
  }

  /** A non-empty list of numbers in [min, max]. */
  private static double[] grid(Config c, String key, double min, double max) {
    List<Double> list;
    try {
      list = c.getDoubleList(key);
    } catch (ConfigException.WrongType ex) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be a list of numbers");
    }
    if (list.isEmpty()) throw BadConfigException.of(key, list, "must hold at least one value");
    double[] out = new double[list.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = list.get(i);
      if (!(out[i] >= min && out[i] <= max)) throw BadConfigException.of(key, list, "values must be in [" + min + ", " + max + "]");
    }
    return out;
  }
}
