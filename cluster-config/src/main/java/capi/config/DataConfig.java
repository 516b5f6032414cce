package capi.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.List;

/**
 * The data pipeline's settings ({@code capi.data.*}): which dataset, the augmentation of one view
 * (docs/ALGORITHM.md §4.5) and the loader's threads and prefetch depth.
 *
 * @param mean per-channel normalisation mean, 1 value (all channels) or one per model channel
 * @param std per-channel normalisation standard deviation, same length rule as mean
 */
public record DataConfig(
    String dataset,
    double[] mean,
    double[] std,
    double cropScaleMin,
    double cropScaleMax,
    double cropAspectMin,
    double cropAspectMax,
    double flipProbability,
    int loaderThreads,
    int prefetch) {

  static DataConfig from(Config c) {
    String p = "capi.data.";
    double scaleMin = Values.doubleIn(c, p + "crop-scale-min", 1e-6, 1);
    double scaleMax = Values.doubleIn(c, p + "crop-scale-max", scaleMin, 1);
    double aspectMin = Values.doubleIn(c, p + "crop-aspect-min", 1e-3, 1e3);
    double aspectMax = Values.doubleIn(c, p + "crop-aspect-max", aspectMin, 1e3);
    double[] mean = numbers(c, p + "mean", Double.NEGATIVE_INFINITY);
    double[] std = numbers(c, p + "std", 0);
    return new DataConfig(
        Values.string(c, p + "dataset"),
        mean,
        std,
        scaleMin,
        scaleMax,
        aspectMin,
        aspectMax,
        Values.doubleIn(c, p + "flip-probability", 0, 1),
        Values.positiveInt(c, p + "loader-threads"),
        Values.positiveInt(c, p + "prefetch"));
  }

  /** A non-empty list of numbers, each greater than {@code above} (or any when -infinity). */
  private static double[] numbers(Config c, String key, double above) {
    List<Double> list;
    try {
      ConfigValue v = c.getValue(key);
      // -Dcapi.data.mean=[0.5] arrives as the string "[0.5]": read it as HOCON.
      list = v.valueType() == ConfigValueType.STRING
          ? ConfigFactory.parseString("v = " + v.unwrapped()).getDoubleList("v")
          : c.getDoubleList(key);
    } catch (ConfigException e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be a list of numbers");
    }
    if (list.isEmpty() || list.size() > 3) {
      throw BadConfigException.of(key, list, "must hold 1 to 3 numbers (one per channel, or one for all)");
    }
    double[] out = new double[list.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = list.get(i);
      if (!(out[i] > above)) throw BadConfigException.of(key, list, "values must be > " + above);
    }
    return out;
  }
}
