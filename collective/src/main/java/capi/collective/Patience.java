package capi.collective;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * How a ring's send/receive loop waits (RingAllReduce, TcpRingAllReduce): after each turn it tells
 * {@link #after} what the turn moved, and gets back whether to go on, or that nothing has moved for
 * the timeout, or that its thread was interrupted. While nothing moves it backs off from spinning to
 * short parks: other ranks and the kernel need the same cores. Used by one thread.
 */
final class Patience {
  enum Verdict { GO_ON, TIMED_OUT, INTERRUPTED }

  private final long timeoutNs;
  private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 100_000);
  private long idleSince; // 0 while things move

  Patience(long timeoutNs) {
    this.timeoutNs = timeoutNs;
  }

  /** A new wait begins (a step of the ring): the timeout counts from its first idle turn. */
  void begin() {
    idleSince = 0;
  }

  /**
   * One turn of the loop moved {@code moved} units (bytes, chunks); {@code mayIdle}: nothing else
   * is pending either (e.g. the media driver's duty cycle did nothing), so the thread may back off.
   */
  Verdict after(long moved, boolean mayIdle) {
    if (moved > 0) {
      idleSince = 0;
      idle.reset();
      return Verdict.GO_ON;
    }
    long now = System.nanoTime();
    if (idleSince == 0) {
      idleSince = now;
    } else if (now - idleSince > timeoutNs) {
      return Verdict.TIMED_OUT;
    }
    if (Thread.currentThread().isInterrupted()) return Verdict.INTERRUPTED; // the runtime gives up on this ring
    if (mayIdle) idle.idle();
    return Verdict.GO_ON;
  }

  /** Backs off once, for waits outside a step (joins, closes). */
  void idle() {
    idle.idle();
  }

  /** Work was done outside a step: the next idle turn spins again. */
  void reset() {
    idle.reset();
  }
}
