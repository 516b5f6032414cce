package capi.engine;

import java.util.EnumMap;
import java.util.Map;

/** Wall time per layer kind, forward and backward separately (capi bench's per-layer profile). */
public final class Profile {
  /** What the time was spent in. */
  public enum Kind {
    PATCH_EMBED,
    NORM,
    ATTENTION,
    MLP,
    STUDENT_HEAD,
    CLUSTERING_HEAD,
    SINKHORN,
    LOSS,
    OPTIMIZER
  }

  private final Map<Kind, long[]> nanos = new EnumMap<>(Kind.class);

  public Profile() {
    reset();
  }

  /** The clock of the profile (wall time, ns). */
  static long now() {
    return System.nanoTime();
  }

  /** Adds the time since `start` (a {@link #now()}) to a kind's forward or backward total. */
  void add(Kind kind, boolean backward, long start) {
    nanos.get(kind)[backward ? 1 : 0] += now() - start;
  }

  public void reset() {
    for (Kind k : Kind.values()) nanos.put(k, new long[2]);
  }

  public long forwardNanos(Kind k) {
    return nanos.get(k)[0];
  }

  public long backwardNanos(Kind k) {
    return nanos.get(k)[1];
  }
}
