package capi.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.engine.cpu.CpuBackend;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Properties of the position-wise Sinkhorn-Knopp (docs/ALGORITHM.md §3.2). */
@Timeout(60)
class SinkhornTest {
  private static final int N = 3, B = 8, K = 5;

  @Test
  void rowsSumToOne() {
    double[] q = run(Precision.FLOAT64, scores(1 / 0.06, 0), 3, N, B);
    for (int r = 0; r < N * B; r++) assertEquals(1, rowSum(q, r), 1e-6); // eps 1e-8 on the sums
  }

  @Test
  void columnMarginalsApproachUniformPerPosition() {
    double[] s = scores(1, 0);
    double d1 = marginalDeviation(run(Precision.FLOAT64, s, 1, N, B));
    double d3 = marginalDeviation(run(Precision.FLOAT64, s, 3, N, B));
    double d50 = marginalDeviation(run(Precision.FLOAT64, s, 50, N, B));
    assertTrue(d3 < d1 && d50 < d3, "deviations " + d1 + ", " + d3 + ", " + d50);
    assertTrue(d50 < 1e-6, "after 50 iterations each prototype holds B/K at every position: " + d50);
  }

  @Test
  void invariantToAConstantShift() {
    double[] a = run(Precision.FLOAT64, scores(1 / 0.06, 0), 3, N, B);
    double[] b = run(Precision.FLOAT64, scores(1 / 0.06, 123.25), 3, N, B);
    assertArrayEquals(a, b, 1e-12);
  }

  /**
   * Scores 1e4 apart: the shifted exponent keeps everything finite (like the reference, a token
   * whose every score underflows gets an all-zero row rather than NaN).
   */
  @Test
  void finiteForLargeLogits() {
    for (Precision p : new Precision[] {Precision.FLOAT64, Precision.FLOAT32}) {
      double[] q = run(p, scores(1e4, 0), 3, N, B);
      for (double v : q) assertTrue(Double.isFinite(v) && v >= 0, p + ": " + v);
      for (int r = 0; r < N * B; r++) assertTrue(rowSum(q, r) <= 1 + 1e-5, p.toString());
    }
  }

  /** Two workers with half the batch each and a reducer between them compute the single-worker result. */
  @Test
  void globalBatchThroughTheReducer() throws Exception {
    double[] s = scores(1 / 0.06, 0);
    double[] whole = run(Precision.FLOAT64, s, 3, N, B);
    int half = B / 2;
    Reducer[] reducers = PairReducers.create();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<double[]>[] parts = new Future[2];
      for (int w = 0; w < 2; w++) {
        int rank = w;
        double[] mine = new double[N * half * K];
        for (int p = 0; p < N; p++) System.arraycopy(s, (p * B + rank * half) * K, mine, p * half * K, half * K);
        parts[w] = pool.submit(() -> run(Precision.FLOAT64, mine, 3, N, half, reducers[rank]));
      }
      for (int w = 0; w < 2; w++) {
        double[] q = parts[w].get();
        for (int p = 0; p < N; p++) {
          for (int i = 0; i < half * K; i++) {
            assertEquals(whole[(p * B + w * half) * K + i], q[p * half * K + i], 1e-6);
          }
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static double[] scores(double scale, double shift) {
    Random rng = new Random(5);
    double[] s = new double[N * B * K];
    for (int i = 0; i < s.length; i++) s[i] = scale * rng.nextGaussian() + shift;
    return s;
  }

  private static double[] run(Precision p, double[] s, int iterations, int positions, int samples) {
    return run(p, s, iterations, positions, samples, Reducer.LOCAL);
  }

  private static double[] run(Precision p, double[] s, int iterations, int positions, int samples, Reducer reducer) {
    try (Backend be = new CpuBackend(p, 1); Arena arena = new Arena(be, new Profile())) {
      Tensor t = arena.get((Tensor) null, p.master(), s.length), q = arena.get((Tensor) null, p.master(), s.length);
      be.upload(s, 0, t, 0, s.length);
      new Sinkhorn(arena).run(t, q, positions, samples, K, iterations, 1, reducer);
      double[] out = new double[s.length];
      be.download(q, 0, out, 0, out.length);
      return out;
    }
  }

  private static double rowSum(double[] q, int r) {
    double s = 0;
    for (int k = 0; k < K; k++) s += q[r * K + k];
    return s;
  }

  /** max over positions and prototypes of |Σ_samples q − B/K|. */
  private static double marginalDeviation(double[] q) {
    double worst = 0;
    for (int p = 0; p < N; p++) {
      for (int k = 0; k < K; k++) {
        double s = 0;
        for (int b = 0; b < B; b++) s += q[(p * B + b) * K + k];
        worst = Math.max(worst, Math.abs(s - (double) B / K));
      }
    }
    return worst;
  }
}
