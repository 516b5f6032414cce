package capi.collective;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import org.agrona.BufferUtil;

/**
 * Where the ranks of one shared-memory group (one node, one generation) meet: each rank's buffer
 * for the current call, and a barrier. Barrier b (1 = the join, then two per call) is passed once
 * {@code arrivals} reaches n·b; the last rank to arrive unparks the others. A broken group has the
 * BROKEN bit set in {@code arrivals}: breaking is a compare-and-set against the count a waiter saw,
 * so a rank that arrives at the same moment either counts (and the waiter goes on) or finds the
 * group broken (and writes into nobody's buffer); a barrier that all ranks reached stays passed.
 */
final class Rendezvous {
  private static final long BROKEN = 1L << 62;
  /**
   * A waiter spins briefly, then yields (a peer that shares its core gets to run), then parks.
   * Measured at 1 MiB, 2 ranks, loaded 2-core machine: 100 spins + 200 yields 0.19-0.38 ms per
   * call, 1000 spins 0.56-0.58 ms, 20000 spins 1.5-1.6 ms.
   */
  private static final int SPINS = 100;
  private static final int YIELDS = 200;

  final int generation;
  final int worldSize;
  private final long timeoutNs;
  // Per rank, written by that rank before it arrives at a call's first barrier, read by all after it.
  private final ByteBuffer[] buffers; // keeps the memory reachable while peers write into it
  final long[] addresses;
  final int[] counts;
  final ReduceOp[] ops;
  private final boolean[] members; // guarded by the Groups that hold this rendezvous
  private final AtomicLong arrivals = new AtomicLong();
  private final AtomicLongArray reached; // per rank: the last barrier it arrived at
  private final AtomicReferenceArray<Thread> parked;
  private String brokenBy; // guarded by this

  /**
   * The shared-memory groups of one node (CollectiveNode), one per generation: where the ranks of
   * a generation find each other. A group goes when its last rank leaves.
   */
  static final class Groups {
    private final Map<Integer, Rendezvous> byGeneration = new HashMap<>(); // guarded by this

    /** Takes {@code rank}'s place in the group of {@code generation}, creating it for the first rank. */
    synchronized Rendezvous enter(int generation, int rank, int worldSize, long timeoutNs) {
      Rendezvous group = byGeneration.computeIfAbsent(generation, g -> new Rendezvous(g, worldSize, timeoutNs));
      if (!group.claim(rank, worldSize)) {
        throw new IllegalStateException("rank " + rank + " of " + worldSize + " cannot join generation " + generation
            + ": the place is taken or the group has " + group.worldSize + " ranks");
      }
      return group;
    }

    /** Gives {@code rank}'s place up (which breaks the group). */
    synchronized void leave(Rendezvous group, int rank) {
      if (group.release(rank)) byGeneration.remove(group.generation, group);
    }
  }

  private Rendezvous(int generation, int worldSize, long timeoutNs) {
    this.generation = generation;
    this.worldSize = worldSize;
    this.timeoutNs = timeoutNs;
    buffers = new ByteBuffer[worldSize];
    addresses = new long[worldSize];
    counts = new int[worldSize];
    ops = new ReduceOp[worldSize];
    members = new boolean[worldSize];
    reached = new AtomicLongArray(worldSize);
    parked = new AtomicReferenceArray<>(worldSize);
  }

  /** Takes {@code rank}'s place; false when it is taken or the world size differs. */
  private boolean claim(int rank, int worldSize) {
    if (worldSize != this.worldSize || members[rank]) return false;
    members[rank] = true;
    return true;
  }

  /** Gives {@code rank}'s place up and breaks the group; true when it was the last member. */
  private boolean release(int rank) {
    members[rank] = false;
    breakGroup("rank " + rank + " left the group");
    for (boolean m : members) if (m) return false;
    return true;
  }

  /** {@code rank}'s buffer for the call it is about to arrive at (plain writes: the arrival publishes them). */
  void publish(int rank, ByteBuffer buffer, int count, ReduceOp op) {
    buffers[rank] = buffer;
    addresses[rank] = BufferUtil.address(buffer);
    counts[rank] = count;
    ops[rank] = op;
  }

  boolean isBroken() {
    return (arrivals.get() & BROKEN) != 0;
  }

  /**
   * Arrives at barrier {@code barrier} and waits until every rank has: spins, yields, then parks.
   *
   * @throws CollectiveException naming the missing ranks after the timeout, when interrupted (the
   *     flag stays set), or when the group is or becomes broken; the first two break it
   */
  void arriveAndAwait(int rank, long barrier, String who) {
    reached.set(rank, barrier);
    long target = barrier * worldSize;
    long now = arrivals.incrementAndGet();
    if ((now & BROKEN) != 0) throw broken(who);
    if (now == target) {
      wakeAll();
      return;
    }
    long deadline = System.nanoTime() + timeoutNs;
    for (int spins = 0; ((now = arrivals.get()) & ~BROKEN) < target; spins++) {
      if ((now & BROKEN) != 0) throw broken(who);
      if (spins < SPINS) {
        Thread.onSpinWait();
        continue;
      }
      if (spins < SPINS + YIELDS) {
        Thread.yield();
        continue;
      }
      if (Thread.currentThread().isInterrupted()) {
        String why = who + ": interrupted while waiting for " + missing(barrier) + " at barrier " + barrier;
        breakGroup(why);
        throw new CollectiveException(why);
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        String why = who + ": " + missing(barrier) + (barrier == 1 ? " did not join generation " + generation
            : " did not arrive at barrier " + barrier + " (all-reduce call " + barrier / 2 + ")")
            + " within " + timeoutNs / 1_000_000 + " ms";
        if (breakAt(now, why)) throw new CollectiveException(why);
        continue; // a rank arrived since: look again
      }
      parked.set(rank, Thread.currentThread());
      if (arrivals.get() == now) LockSupport.parkNanos(this, left); // an arrival after the check unparks us
      parked.set(rank, null);
    }
  }

  /** Breaks the group (the peers' waits end with a CollectiveException). */
  synchronized void breakGroup(String why) {
    long now;
    while (((now = arrivals.get()) & BROKEN) == 0) {
      if (breakAt(now, why)) return;
    }
  }

  synchronized CollectiveException broken(String who) {
    return new CollectiveException(who + ": group is broken (" + brokenBy + "); join again");
  }

  /** Breaks the group unless a rank arrived since the waiter saw {@code seen} arrivals. */
  private synchronized boolean breakAt(long seen, String why) {
    if (!arrivals.compareAndSet(seen, seen | BROKEN)) return false;
    brokenBy = why;
    wakeAll();
    return true;
  }

  private String missing(long barrier) {
    StringBuilder b = new StringBuilder();
    for (int r = 0; r < worldSize; r++) {
      if (reached.get(r) < barrier) b.append(b.length() == 0 ? "rank " : ", rank ").append(r);
    }
    return b.toString();
  }

  private void wakeAll() {
    for (int r = 0; r < worldSize; r++) {
      Thread t = parked.get(r);
      if (t != null) LockSupport.unpark(t);
    }
  }
}
