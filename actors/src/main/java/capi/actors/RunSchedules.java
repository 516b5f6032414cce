package capi.actors;

import capi.config.OptimConfig;
import capi.engine.WarmupThenCosine;

/** The reference's three schedules for a run of a given length (docs/ALGORITHM.md §4.2). */
final class RunSchedules implements RunSpec.Schedules {
  private final WarmupThenCosine lr;
  private final WarmupThenCosine momentum;
  private final WarmupThenCosine clusteringLr;

  private RunSchedules(WarmupThenCosine lr, WarmupThenCosine momentum, WarmupThenCosine clusteringLr) {
    this.lr = lr;
    this.momentum = momentum;
    this.clusteringLr = clusteringLr;
  }

  /** @param runSteps the run's length, used when capi.optim.schedule-steps is 0 */
  static RunSchedules of(OptimConfig optim, long runSteps) {
    long total = optim.scheduleSteps() > 0 ? optim.scheduleSteps() : runSteps;
    long warmup = Math.round(optim.warmupFraction() * total);
    double cut = optim.truncateCos();
    return new RunSchedules(
        new WarmupThenCosine(optim.lr(), 0, total, warmup, 0, cut),
        new WarmupThenCosine(optim.emaMomentum(), 1, total, warmup, 1, cut),
        new WarmupThenCosine(optim.clusteringLr(), 0, total, warmup, 0, cut));
  }

  @Override
  public double lr(long step) {
    return lr.at(step);
  }

  @Override
  public double momentum(long step) {
    return momentum.at(step);
  }

  @Override
  public double clusteringLr(long step) {
    return clusteringLr.at(step);
  }
}
