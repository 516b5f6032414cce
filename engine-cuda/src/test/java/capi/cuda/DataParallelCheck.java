package capi.cuda;

import capi.config.ModelConfig;
import capi.config.OptimConfig;
import capi.engine.Backend;
import capi.engine.CapiTrainer;
import capi.engine.PairReducers;
import capi.engine.Precision;
import capi.engine.Reducer;
import capi.engine.StepBenchmark;
import capi.engine.StepInput;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Data parallelism on one device: one trainer stepping the global batch against two trainers (two
 * threads, each its own backend and stream) stepping half of it each, their Sinkhorn column max and
 * sums reduced across both through an in-process {@link Reducer} and their gradients (one buffer
 * each) averaged before the update. Same initialisation, no drop path: the losses of every step
 * and the teacher afterwards must agree within the precision's tolerance.
 */
final class DataParallelCheck {
  /** A small model (non-square images, 8 registers, predictor narrower than the encoder), no drop path. */
  static final ModelConfig MODEL =
      new ModelConfig(12, 16, 3, 4, 16, 2, 2, 8, 2, 2, 8, 10, 0, 0.5, 0.5, 0.12, 0.06, 0.12, 3, true);
  static final OptimConfig OPTIM = new OptimConfig(1e-3, 0.1, 0.9, 0.95, 1e-8, 0.2, 0.1, 5e-4, 0.01, 0.999, 100, 0.1, 0.8);

  /** Per step: loss_capi and loss_clustering of 1 worker and of 2 (their mean); the teacher's relative difference. */
  record Result(Precision precision, double[][] one, double[][] two, double teacherRelDiff, double tolerance) {
    double maxLossRelDiff() {
      double worst = 0;
      for (int s = 0; s < one.length; s++) {
        for (int i = 0; i < 2; i++) worst = Math.max(worst, Math.abs(one[s][i] - two[s][i]) / Math.max(1e-12, Math.abs(one[s][i])));
      }
      return worst;
    }

    boolean passed() {
      return maxLossRelDiff() <= tolerance && teacherRelDiff <= tolerance;
    }
  }

  /**
   * Relative tolerance: the exchange and the gradient hand-off are float32 even in a float64 run;
   * in bf16-mixed a float32 difference can flip a bf16 rounding of an activation.
   */
  static double tolerance(Precision p) {
    return switch (p) {
      case FLOAT64 -> 1e-7;
      case FLOAT32 -> 1e-4;
      case BF16_MIXED -> 1e-3;
    };
  }

  static Result run(Precision precision, int batch, int steps, Function<Precision, Backend> backends) throws Exception {
    ModelConfig model = MODEL;
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (CapiTrainer single = CapiTrainer.create(model, OPTIM, 7, backends.apply(precision));
        CapiTrainer w0 = CapiTrainer.create(model, OPTIM, 7, backends.apply(precision));
        CapiTrainer w1 = CapiTrainer.create(model, OPTIM, 7, backends.apply(precision))) {
      CapiTrainer[] workers = {w0, w1};
      Reducer[] reducers = PairReducers.create();
      double[][] one = new double[steps][], two = new double[steps][];
      for (int s = 0; s < steps; s++) {
        StepInput global = StepBenchmark.synthetic(model, batch, 100 + s);
        forwardBackward(single, global, Reducer.LOCAL);
        one[s] = update(single);
        Future<?>[] parts = new Future[2];
        for (int w = 0; w < 2; w++) {
          int rank = w;
          StepInput local = half(model, global, rank);
          parts[w] = pool.submit(() -> forwardBackward(workers[rank], local, reducers[rank]));
        }
        for (Future<?> f : parts) f.get();
        average(w0.gradients(), w1.gradients(), w0.gradientCount());
        double[] a = update(w0), b = update(w1);
        two[s] = new double[] {(a[0] + b[0]) / 2, (a[1] + b[1]) / 2};
      }
      double diff = 0, norm = 0;
      for (String name : single.studentParameterNames()) {
        double[] x = single.read("teacher/" + name), y = w1.read("teacher/" + name);
        for (int i = 0; i < x.length; i++) {
          diff += (x[i] - y[i]) * (x[i] - y[i]);
          norm += x[i] * x[i];
        }
      }
      return new Result(precision, one, two, Math.sqrt(diff / norm), tolerance(precision));
    } finally {
      pool.shutdownNow();
    }
  }

  private static void forwardBackward(CapiTrainer t, StepInput in, Reducer reducer) {
    t.teacherForward(in);
    t.sinkhorn(reducer);
    t.clusteringForwardBackward();
    t.studentForwardBackward();
  }

  /** The update, then loss_capi and loss_clustering of the step (the one read-back). */
  private static double[] update(CapiTrainer t) {
    t.apply(1e-3, 0.99, 5e-4);
    CapiTrainer.StepScalars s = t.stepScalars();
    return new double[] {s.lossCapi(), s.lossClustering()};
  }

  /** Samples [rank·B/2, (rank + 1)·B/2) of a global input, their indices re-based to the half. */
  static StepInput half(ModelConfig m, StepInput g, int rank) {
    int b = g.batch() / 2, per = g.pixels().length / g.batch(), n = m.patches();
    byte[] pixels = Arrays.copyOfRange(g.pixels(), rank * b * per, (rank + 1) * b * per);
    return new StepInput(b, pixels, g.mean(), g.std(), rebase(g.visibleIndices(), rank, b, n),
        rebase(g.predictIndices(), rank, b, n), g.dropPathSeed());
  }

  private static int[] rebase(int[] idx, int rank, int b, int n) {
    int per = idx.length / (2 * b);
    int[] out = Arrays.copyOfRange(idx, rank * b * per, (rank + 1) * b * per);
    for (int i = 0; i < out.length; i++) out[i] -= rank * b * n;
    return out;
  }

  /** Both buffers ← their mean (float32, native order). */
  private static void average(ByteBuffer a, ByteBuffer b, int count) {
    for (int i = 0; i < count; i++) {
      float m = (a.getFloat(4 * i) + b.getFloat(4 * i)) / 2;
      a.putFloat(4 * i, m);
      b.putFloat(4 * i, m);
    }
  }
}
