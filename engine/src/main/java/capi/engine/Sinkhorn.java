package capi.engine;

import java.nio.ByteBuffer;

/**
 * Position-wise Sinkhorn-Knopp (reference sinkhorn_knopp on (N, B, K)): for every position
 * separately, E = exp((z − max over the global batch)/τ + 50), then `iterations` times a column
 * step (each prototype's mass over the global batch → 1) and a row step (each token → 1), eps
 * 1e-8. The column max and sums go through a {@link Reducer} as float32 (staged through the
 * backend's host buffer); with {@link Reducer#LOCAL} nothing leaves the backend, so a float64 run
 * stays exact.
 */
final class Sinkhorn {
  static final double EPS = 1e-8;
  static final double EXP_OFFSET = 50;
  private final Arena arena;
  private ByteBuffer exchange;

  Sinkhorn(Arena arena) {
    this.arena = arena;
  }

  /** assignments (positions, samples, K) ← Sinkhorn-Knopp of logits z (same shape) at temperature τ. */
  void run(Tensor logits, Tensor assignments, int positions, int samples, int k, int iterations, double temp,
      Reducer reducer) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    Tensor stat = arena.get(this, "stat", arena.master(), (long) positions * k); // (N, K) max, then column sums
    Tensor next = arena.get(this, "next", arena.master(), (long) positions * k);
    be.columnMax(logits, positions, samples, k, stat);
    reduce(stat, reducer, true);
    be.expShifted(logits, stat, positions, samples, k, 1 / temp, EXP_OFFSET, assignments, next);
    Tensor sums = next, spare = stat;
    for (int i = 0; i < iterations; i++) {
      reduce(sums, reducer, false);
      // column step, row step, and the local column sums of the next iteration in one sweep
      boolean last = i == iterations - 1;
      be.sinkhornStep(assignments, sums, positions, samples, k, EPS, last ? null : spare);
      Tensor t = sums;
      sums = spare;
      spare = t;
    }
    arena.profile().add(Profile.Kind.SINKHORN, false, t0);
  }

  private void reduce(Tensor t, Reducer reducer, boolean max) {
    if (reducer == Reducer.LOCAL) return;
    Backend be = arena.backend();
    int n = (int) t.length();
    if (exchange == null || exchange.capacity() < 4 * n) exchange = be.hostBuffer(4L * n);
    be.stage(t, exchange);
    exchange.clear();
    if (max) reducer.allReduceMax(exchange, n);
    else reducer.allReduceSum(exchange, n);
    exchange.clear();
    be.unstage(exchange, t);
  }
}
