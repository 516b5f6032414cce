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
 * sums reduced across both through an in-process {@link Reducer} and their gradients averaged
 * before the update. Same initialisation, no drop path: the losses of every step and the teacher
 * afterwards must agree within the precision's tolerance.
 */
final class DataParallelCheck {
  /** A small model (non-square images, 8 registers, predictor narrower than the encoder), no drop path. */
  static final ModelConfig MODEL =
      new ModelConfig(12, 16, 3, 4, 16, 2, 2, 8, 2, 2, 8, 10, 0, 0.5, 0.5, 0.12, 0.06, 0.12, 3, true, "float32");
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

  /** Relative tolerance: the exchange and the gradient hand-off are float32 even in a float64 run. */
  static double tolerance(Precision p) {
    return p == Precision.FLOAT64 ? 1e-7 : 1e-4;
  }

  static Result run(Precision precision, int batch, int steps, Function<Precision, Backend> backends) throws Exception {
    ModelConfig model = withPrecision(MODEL, precision);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (CapiTrainer single = CapiTrainer.create(model, OPTIM, 7, backends.apply(precision));
        CapiTrainer w0 = CapiTrainer.create(model, OPTIM, 7, backends.apply(precision));
        CapiTrainer w1 = CapiTrainer.create(model, OPTIM, 7, backends.apply(precision))) {
      CapiTrainer[] workers = {w0, w1};
      Reducer[] reducers = PairReducers.create();
      double[][] one = new double[steps][], two = new double[steps][];
      for (int s = 0; s < steps; s++) {
        StepInput global = StepBenchmark.synthetic(model, batch, 100 + s);
        one[s] = step(single, global, Reducer.LOCAL, s);
        single.apply(1e-3, 0.99, 5e-4);
        Future<double[]>[] parts = new Future[2];
        for (int w = 0; w < 2; w++) {
          int rank = w, step = s;
          StepInput local = half(model, global, rank);
          parts[w] = pool.submit(() -> step(workers[rank], local, reducers[rank], step));
        }
        double[] a = parts[0].get(), b = parts[1].get();
        two[s] = new double[] {(a[0] + b[0]) / 2, (a[1] + b[1]) / 2};
        average(w0.studentGradients(), w1.studentGradients());
        average(w0.clusteringGradients(), w1.clusteringGradients());
        for (CapiTrainer w : workers) w.apply(1e-3, 0.99, 5e-4);
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

  /** loss_capi, loss_clustering of one forward/backward. */
  private static double[] step(CapiTrainer t, StepInput in, Reducer reducer, long seed) {
    t.teacherForward(in);
    t.sinkhorn(reducer);
    double clustering = t.clusteringForwardBackward();
    return new double[] {t.studentForwardBackward(in, seed), clustering};
  }

  /** Samples [rank·B/2, (rank + 1)·B/2) of a global input, their indices re-based to the half. */
  static StepInput half(ModelConfig m, StepInput g, int rank) {
    int b = g.batch() / 2, per = g.images().length / g.batch(), n = m.patches();
    float[] images = Arrays.copyOfRange(g.images(), rank * b * per, (rank + 1) * b * per);
    return new StepInput(b, images, rebase(g.visibleIndices(), rank, b, n), rebase(g.predictIndices(), rank, b, n));
  }

  private static int[] rebase(int[] idx, int rank, int b, int n) {
    int per = idx.length / (2 * b);
    int[] out = Arrays.copyOfRange(idx, rank * b * per, (rank + 1) * b * per);
    for (int i = 0; i < out.length; i++) out[i] -= rank * b * n;
    return out;
  }

  /** Both buffers ← their mean (float32, native order). */
  private static void average(ByteBuffer a, ByteBuffer b) {
    for (int i = 0; i + 4 <= a.capacity(); i += 4) {
      float m = (a.getFloat(i) + b.getFloat(i)) / 2;
      a.putFloat(i, m);
      b.putFloat(i, m);
    }
  }

  static ModelConfig withPrecision(ModelConfig m, Precision p) {
    return new ModelConfig(m.imageHeight(), m.imageWidth(), m.inChannels(), m.patchSize(), m.dim(), m.heads(), m.depth(),
        m.predDim(), m.predHeads(), m.predDepth(), m.registers(), m.prototypes(), m.dropPathRate(), m.maskRatio(),
        m.predictionSubsampling(), m.studentTemp(), m.targetTemp(), m.clusteringTemp(), m.sinkhornIterations(),
        m.positionwiseSinkhorn(), p == Precision.FLOAT64 ? "float64" : "float32");
  }
}
