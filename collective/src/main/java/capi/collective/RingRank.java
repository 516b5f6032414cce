package capi.collective;

import java.nio.ByteBuffer;
import java.util.List;
import org.agrona.BufferUtil;

/**
 * One rank of a ring all-reduce, whatever carries its values (RingAllReduce over Aeron,
 * TcpRingAllReduce over TCP): its place in the ring, the call in progress and the call's course.
 * The buffer is cut into n segments; n-1 reduce-scatter steps, in each of which a rank sends one
 * segment to its right neighbour while it adds the one it receives from its left into its own
 * buffer, leave rank r owning the reduced segment r+1; then n-1 all-gather steps pass the owned
 * segments on around the ring. Every segment is reduced once, on one rank, and then copied, so all
 * ranks end with bit-identical results. A subclass moves one step's values ({@link #exchange}); a
 * CollectiveException leaves the ring broken (close every rank and join again, with a new
 * generation). Used by one thread.
 */
abstract class RingRank implements AllReduce {
  final WireFormat wire;
  final int generation;
  final int rank;
  final int worldSize;
  final List<Endpoint> endpoints;
  final long timeoutNs;
  final Patience patience;
  private final int maxFloats;
  private final String kind; // what messages add after the generation: "" or ", tcp"

  // The call in progress, set here before each step for the subclass to read.
  ByteBuffer values; // the caller's buffer, its limit at its capacity
  int count;
  ReduceOp op;
  int call; // 1 for the ring's first all-reduce, +1 per call
  int step; // 0 .. 2(n-1)-1: reduce-scatter steps, then all-gather steps
  boolean combining; // reduce-scatter: received values are added in; all-gather: copied
  private ByteBuffer caller; // the caller's buffer of the last call
  private String brokenBy;

  RingRank(WireFormat wire, int generation, int rank, List<Endpoint> endpoints, long timeoutNs, int maxFloats, String kind) {
    this.wire = wire;
    this.generation = generation;
    this.rank = rank;
    this.worldSize = endpoints.size();
    this.endpoints = List.copyOf(endpoints);
    this.timeoutNs = timeoutNs;
    this.patience = new Patience(timeoutNs);
    this.maxFloats = maxFloats;
    this.kind = kind;
  }

  /** The argument checks of every ring's join. */
  static void checkJoin(int rank, int worldSize, int maxFloats) {
    if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " not in [0, " + worldSize + ")");
    if (maxFloats < 0) throw new IllegalArgumentException("maxFloats " + maxFloats + " < 0");
  }

  @Override
  public final int rank() {
    return rank;
  }

  @Override
  public final int worldSize() {
    return worldSize;
  }

  /** {@inheritDoc} A neighbour that sends or accepts nothing for the timeout fails the call. */
  @Override
  public final void allReduce(ByteBuffer buffer, int count, ReduceOp op) {
    if (brokenBy != null) throw new CollectiveException(who() + ": ring is broken (" + brokenBy + "); join again");
    AllReduce.checkArguments(buffer, count, maxFloats);
    if (worldSize == 1 || count == 0) return;
    if (buffer != caller) {
      caller = buffer;
      values = buffer.duplicate().clear();
      newBuffer(buffer);
    }
    this.count = count;
    this.op = op;
    call++;
    try {
      beginCall();
      int n = worldSize;
      for (int s = 0; s < n - 1; s++) runStep(s, rank - s, rank - s - 1, true); // afterwards this rank owns segment rank+1
      if (op == ReduceOp.AVG) {
        int first = start(rank + 1, 0);
        ReduceOp.divide(BufferUtil.address(values) + (long) first * Float.BYTES, (start(rank + 1, 1) - first) * Float.BYTES, n);
      }
      for (int s = 0; s < n - 1; s++) runStep(n - 1 + s, rank + 1 - s, rank - s, false);
    } catch (CollectiveException e) {
      brokenBy = e.getMessage();
      throw e;
    }
  }

  /** Whether a call failed: the ring can do no more. */
  final boolean isBroken() {
    return brokenBy != null;
  }

  /** The caller passed another buffer than in its last call (views of it are made anew). */
  void newBuffer(ByteBuffer buffer) {}

  /** A call begins, before its first step. */
  void beginCall() {}

  /**
   * One step: sends floats [sendFrom, sendTo) of the buffer to the right neighbour while it receives
   * [recvFrom, recvTo) from the left one ({@link #take} them); returns when both are done.
   */
  abstract void exchange(int sendFrom, int sendTo, int recvFrom, int recvTo);

  private void runStep(int step, int sendSegment, int recvSegment, boolean combining) {
    this.step = step;
    this.combining = combining;
    exchange(start(sendSegment, 0), start(sendSegment, 1), start(recvSegment, 0), start(recvSegment, 1));
  }

  /** First float of segment i (mod n), plus 0 or 1: segment i ends where i+1 starts; lengths differ by at most 1. */
  private int start(int i, int plus) {
    int k = Math.floorMod(i, worldSize) + plus;
    return (int) ((long) count * k / worldSize);
  }

  /** Writes floats [first, first + n) as a payload at {@code at}. */
  final void encode(int first, int n, ByteBuffer payload, int at) {
    if (step == worldSize - 1) { // the all-gather's first step sends this rank's reduced segment: what it sends, it keeps
      wire.encodeAndRound(values, first * Float.BYTES, payload, at, n);
    } else {
      wire.encode(values, first * Float.BYTES, payload, at, n);
    }
  }

  /** A payload's n values into floats [first, first + n): added in (reduce-scatter) or copied (all-gather). */
  final void take(ByteBuffer payload, int at, int first, int n) {
    if (combining) {
      wire.combine(op, payload, at, values, first * Float.BYTES, n);
    } else {
      wire.decode(payload, at, values, first * Float.BYTES, n);
    }
  }

  /** What a waiting step ends with when {@link Patience} says its thread was interrupted. */
  final CollectiveException interrupted() {
    return new CollectiveException(who() + ": interrupted in all-reduce call " + call + " step " + step);
  }

  /** " for T ms in all-reduce call C step S": where a stalled step was. */
  final String stalledWhere() {
    return " for " + timeoutNs / 1_000_000 + " ms in all-reduce call " + call + " step " + step;
  }

  final String who() {
    return "rank " + rank + " of " + worldSize + " (generation " + generation + kind + ")";
  }

  final int left() {
    return (rank + worldSize - 1) % worldSize;
  }

  final int right() {
    return (rank + 1) % worldSize;
  }
}
