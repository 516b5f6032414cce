package capi.config;

import com.typesafe.config.Config;

/** The two AdamW optimisers, the EMA and their schedules (capi.optim.*, docs/ALGORITHM.md §4). */
public record OptimConfig(
    double lr,
    double weightDecay,
    double beta1,
    double beta2,
    double eps,
    double patchEmbedLrMult,
    double normWdMult,
    double clusteringLr,
    double clusteringWeightDecay,
    double emaMomentum,
    long scheduleSteps,
    double warmupFraction,
    double truncateCos) {

  static OptimConfig from(Config c) {
    String o = "capi.optim.";
    long steps = Values.longValue(c, o + "schedule-steps");
    if (steps < 0) throw BadConfigException.of(o + "schedule-steps", steps, "must be >= 0");
    return new OptimConfig(
        Values.doubleIn(c, o + "lr", 0, 10),
        Values.doubleIn(c, o + "weight-decay", 0, 10),
        Values.doubleIn(c, o + "beta1", 0, 0.999999),
        Values.doubleIn(c, o + "beta2", 0, 0.999999),
        Values.doubleIn(c, o + "eps", 1e-30, 1),
        Values.doubleIn(c, o + "patch-embed-lr-mult", 0, 100),
        Values.doubleIn(c, o + "norm-wd-mult", 0, 100),
        Values.doubleIn(c, o + "clustering-lr", 0, 10),
        Values.doubleIn(c, o + "clustering-weight-decay", 0, 10),
        Values.doubleIn(c, o + "ema-momentum", 0, 1),
        steps,
        Values.doubleIn(c, o + "warmup-fraction", 0, 1),
        Values.doubleIn(c, o + "truncate-cos", 0, 1));
  }
}
