package capi.actors;

/** Seeds derived from the run seed, so that no random generator state needs checkpointing. */
final class Seeds {
  private Seeds() {}

  /** The drop-path seed of one worker at one step (SplitMix64 of the three keys). */
  static long dropPath(long runSeed, long step, int rank) {
    return mix(mix(mix(runSeed) ^ step) ^ (0x9E3779B97F4A7C15L * (rank + 1)));
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
