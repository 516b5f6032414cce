package capi.actors;

import java.util.HashMap;
import java.util.Map;

/**
 * When the coordinator stops recovering and fails the run: after more than {@link #MAX} recoveries
 * without a completed step between them, or after more than {@link #MAX} failures of the same kind
 * at the same step, however many steps completed between them (a checkpoint that cannot be written
 * because the disk is full, a step whose loss is NaN every time it is computed again: recovering
 * reloads the previous checkpoint and meets the same failure again).
 */
final class RecoveryLimits {
  static final int MAX = 3;

  private int withoutProgress;
  private final Map<String, Integer> sameFailure = new HashMap<>();

  /**
   * Counts a failure of {@code kind} at {@code step}; returns why the run should give up, or null
   * when it may recover.
   */
  String failed(String kind, long step, String detail) {
    int repeats = sameFailure.merge(kind + "@" + step, 1, Integer::sum);
    if (repeats > MAX) {
      return "giving up: " + kind + " at step " + step + " " + repeats + " times; last: " + detail;
    }
    if (++withoutProgress > MAX) {
      return "giving up after " + MAX + " recoveries without a completed step; last: " + detail;
    }
    return null;
  }

  /** A step completed: the run is moving. */
  void stepCompleted() {
    withoutProgress = 0;
  }
}
