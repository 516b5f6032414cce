package capi.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Position-wise Sinkhorn-Knopp (reference sinkhorn_knopp on (N, B, K)): for every position
 * separately, E = exp(S − max over the global batch + 50), then `iterations` times a column step
 * (each prototype's mass over the global batch → 1) and a row step (each token → 1), eps 1e-8.
 * The column max and sums go through a {@link Reducer}; with {@link Reducer#LOCAL} nothing is
 * exchanged, so a float64 run stays exact.
 */
final class Sinkhorn {
  static final double EPS = 1e-8;
  static final double EXP_OFFSET = 50;
  private final Arena arena;
  private Tensor stat; // (N, K) column max or sums
  private Tensor next; // (N, K) the next iteration's column sums
  private ByteBuffer exchange;
  private float[] host;

  Sinkhorn(Arena arena) {
    this.arena = arena;
  }

  /** In place on s (positions, samples, K): scores S in, assignments out. */
  void run(Tensor s, int positions, int samples, int k, int iterations, Reducer reducer) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    stat = arena.get(stat, (long) positions * k);
    next = arena.get(next, (long) positions * k);
    be.columnMax(s, positions, samples, k, stat);
    reduce(stat, reducer, true);
    be.expShifted(s, stat, positions, samples, k, EXP_OFFSET);
    be.columnSum(s, positions, samples, k, stat);
    for (int i = 0; i < iterations; i++) {
      reduce(stat, reducer, false);
      // column step, row step, and the local column sums of the next iteration in one sweep
      boolean last = i == iterations - 1;
      be.sinkhornStep(s, stat, positions, samples, k, EPS, last ? null : next);
      Tensor t = stat;
      if (!last) {
        stat = next;
        next = t;
      }
    }
    arena.profile().add(Profile.Kind.SINKHORN, false, t0);
  }

  private void reduce(Tensor t, Reducer reducer, boolean max) {
    if (reducer == Reducer.LOCAL) return;
    Backend be = arena.backend();
    int n = (int) t.length();
    if (host == null || host.length != n) {
      host = new float[n];
      exchange = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder());
    }
    be.download(t, 0, host, 0, n);
    FloatBuffer f = exchange.asFloatBuffer();
    f.put(host, 0, n);
    exchange.clear();
    if (max) reducer.allReduceMax(exchange, n);
    else reducer.allReduceSum(exchange, n);
    exchange.asFloatBuffer().get(host, 0, n);
    exchange.clear();
    be.upload(host, 0, t, 0, n);
  }
}
