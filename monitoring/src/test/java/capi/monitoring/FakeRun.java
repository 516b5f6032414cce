package capi.monitoring;

/**
 * Drives a {@link CapiMetrics} the way the runtime does during a run, with plausible values, so
 * that every series the system exports exists: steps with a falling loss, per-rank lags and
 * queue depths, a checkpoint every 5 steps, and the rare events on demand.
 */
final class FakeRun {
  static final int WORLD_SIZE = 2;

  private final CapiMetrics metrics;
  private long step;

  FakeRun(CapiMetrics metrics, long totalSteps) {
    this.metrics = metrics;
    metrics.runStarted(totalSteps, WORLD_SIZE);
    metrics.setNodes(1);
    metrics.skippedImages(() -> 3);
    metrics.nativeMemory(() -> 256L << 20);
  }

  /** One completed step, as the coordinator reports it. */
  synchronized void step() {
    step++;
    double loss = 2 + 5 * Math.exp(-step / 50.0);
    metrics.stepCompleted(new StepReport(step, 64, loss, loss - 1, 6.9, 1e-3, 0.999, 5e-4, 1.5,
        0.12, 0.01, 0.02, 0.005, 0.06, 0.015, 0.01, 22_000_000, WORLD_SIZE, (int) (step / 100)));
    for (int rank = 0; rank < WORLD_SIZE; rank++) {
      metrics.rankLag(rank, 0.002 * rank);
      metrics.prefetchDepth(rank, 2);
    }
    if (step % 5 == 0) metrics.checkpointWritten(0.25);
  }

  /** A recovery and an evaluation result: series that exist only once such an event happened. */
  void rareEvents() {
    metrics.recovery("worker-lost");
    metrics.evalTop1("knn", "global_repr", 0.62);
  }

  /** The run diverges: the coordinator rejects a step whose loss is NaN and rolls back. */
  void diverge() {
    metrics.recovery("non_finite");
  }

  /** A checkpoint cannot be written (a full disk): the coordinator rolls back. */
  void checkpointWriteFails() {
    metrics.recovery("checkpoint-write");
  }
}
