package capi.engine;

import java.util.SplittableRandom;

/**
 * The reference's "efficient" stochastic depth: a residual branch runs only on a random subset of
 * n_keep = max(floor(B·(1 − rate)), 1) samples and its output is added back scaled by B/n_keep.
 */
final class DropPath {
  private DropPath() {}

  /**
   * The kept samples (a random subset in random order), or all samples in order when rng is null,
   * the rate is 0 or it drops none: callers rely on "length == batch" meaning 0..B−1.
   */
  static int[] keep(int batch, double rate, SplittableRandom rng) {
    int[] all = new int[batch];
    for (int i = 0; i < batch; i++) all[i] = i;
    if (rng == null || rate == 0) return all;
    int keep = Math.max((int) (batch * (1 - rate)), 1);
    if (keep >= batch) return all; // nothing dropped: every sample, in order
    for (int i = 0; i < keep; i++) { // partial Fisher-Yates: the first `keep` of a random permutation
      int j = i + rng.nextInt(batch - i);
      int t = all[i];
      all[i] = all[j];
      all[j] = t;
    }
    return java.util.Arrays.copyOf(all, keep);
  }
}
