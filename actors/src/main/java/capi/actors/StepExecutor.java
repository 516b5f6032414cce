package capi.actors;

import capi.collective.AllReduce;
import capi.collective.CollectiveException;
import capi.collective.ReduceOp;
import capi.data.CapiBatch;
import capi.engine.CapiTrainer;
import capi.engine.Reducer;
import capi.engine.StepInput;
import java.nio.ByteBuffer;

/**
 * One worker's share of a CAPI step, in the reference's order: teacher forward, Sinkhorn over the
 * global batch (its MAX/SUM reductions through the ring), clustering backward, student forward and
 * backward, gradient averaging over the ring, then the identical update on every replica.
 * Not thread-safe: owned by its worker.
 */
final class StepExecutor {
  private final CapiTrainer trainer;
  private final long runSeed;
  private AllReduce ring; // null when alone

  StepExecutor(CapiTrainer trainer, long runSeed) {
    this.trainer = trainer;
    this.runSeed = runSeed;
  }

  CapiTrainer trainer() {
    return trainer;
  }

  /** The ring of the current generation (null for a single worker). */
  void useRing(AllReduce ring) {
    this.ring = ring;
  }

  /** Result of one step on this worker: local mean losses and where the time went. */
  record Outcome(double lossCapi, double lossClustering, double targetEntropy, double gradNorm, StepTimings timings) {}

  Outcome run(long step, int rank, CapiBatch batch, double dataWait, int prefetchDepth, double lr, double momentum,
      double clusteringLr) {
    StepInput in = new StepInput(batch.batch(), batch.pixels(), batch.mean(), batch.std(), batch.visibleIndices(),
        batch.predictIndices(), Seeds.dropPath(runSeed, step, rank));
    long t0 = System.nanoTime();
    trainer.teacherForward(in);
    long t1 = System.nanoTime();
    trainer.sinkhorn(ring == null ? Reducer.LOCAL : ringReducer());
    long t2 = System.nanoTime();
    trainer.clusteringForwardBackward();
    trainer.studentForwardBackward();
    long t3 = System.nanoTime();
    long bytes = ring == null ? 0 : average(trainer.gradients(), trainer.gradientCount()); // student and clustering head: one all-reduce
    long t4 = System.nanoTime();
    trainer.apply(lr, momentum, clusteringLr);
    CapiTrainer.StepScalars s = trainer.stepScalars(); // the step's one read-back
    long t5 = System.nanoTime();
    StepTimings timings = new StepTimings(
        dataWait, sec(t1 - t0), sec(t2 - t1), sec(t3 - t2), sec(t4 - t3), sec(t5 - t4), bytes, prefetchDepth);
    return new Outcome(s.lossCapi(), s.lossClustering(), s.targetEntropy(), s.gradNorm(), timings);
  }

  private long average(ByteBuffer grads, int count) {
    ring.allReduce(grads, count, ReduceOp.AVG);
    return 4L * count;
  }

  private Reducer ringReducer() {
    return new Reducer() {
      @Override
      public void allReduceMax(ByteBuffer data, int count) {
        ring.allReduce(data, count, ReduceOp.MAX);
      }

      @Override
      public void allReduceSum(ByteBuffer data, int count) {
        ring.allReduce(data, count, ReduceOp.SUM);
      }
    };
  }

  private static double sec(long nanos) {
    return nanos * 1e-9;
  }

  /** Whether a failure is the collective's (a lost peer: recoverable by re-forming the ring). */
  static boolean isCollective(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) if (c instanceof CollectiveException) return true;
    return false;
  }
}
