package capi.data;

import java.util.SplittableRandom;

/**
 * The infinite sample sequence of a run: position p lies in epoch e = p / size, whose order is a
 * permutation drawn from (seed, e). Every random draw for the sample at p comes from a generator
 * keyed by (seed, e, p mod size), so it does not depend on which worker or thread prepares it.
 */
final class EpochSampler {
  private static final long PERMUTATION = 0x5045524dL; // keys of the permutations ...
  private static final long SAMPLE = 0x53414d50L; // ... and of the per-sample draws never collide

  private final int size;
  private final long seed;
  // The two most recent epochs: a global batch spans at most two.
  private long epochA = -1;
  private int[] permA;
  private long epochB = -1;
  private int[] permB;

  EpochSampler(int size, long seed) {
    if (size <= 0) throw new IllegalArgumentException("empty dataset");
    this.size = size;
    this.seed = seed;
  }

  /** Dataset index of the sample at position p of the infinite sequence. */
  int index(long p) {
    return permutation(p / size)[(int) (p % size)];
  }

  /** The generator of every random draw of the sample at position p. */
  SplittableRandom random(long p) {
    return new SplittableRandom(key(SAMPLE, p / size, p % size));
  }

  private synchronized int[] permutation(long epoch) {
    if (epoch == epochA) return permA;
    if (epoch == epochB) return permB;
    int[] perm = new int[size];
    for (int i = 0; i < size; i++) perm[i] = i;
    SplittableRandom r = new SplittableRandom(key(PERMUTATION, epoch, 0));
    for (int i = size - 1; i > 0; i--) { // Fisher-Yates
      int j = r.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    epochB = epochA;
    permB = permA;
    epochA = epoch;
    permA = perm;
    return perm;
  }

  /** A 64-bit key mixing the seed and three values (SplitMix64's finaliser after each). */
  private long key(long tag, long a, long b) {
    long h = mix(seed ^ tag);
    h = mix(h ^ a);
    return mix(h ^ b);
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
