package capi.collective;

import java.nio.ByteBuffer;
import java.util.List;
import org.agrona.BufferUtil;
import org.agrona.UnsafeAccess;

/**
 * One rank of an all-reduce among processes of one host, which meet in a memory-mapped file
 * ({@link MappedGroup}: per rank two input slots, and two shared output slots, of C bytes each).
 * A call moves the buffer through the file in chunks of C bytes, one round per chunk, with one
 * barrier per round; the round counter c goes on across calls, and slot k = c mod 2:
 * <ol>
 *   <li>copy chunk j of the buffer into in[me][k];
 *   <li>barrier: every rank's chunk is in;
 *   <li>reduce segment me of the chunk (the chunk cut into n as in SharedMemoryAllReduce) of all
 *       in[r][k], in rank order 0..n-1, into out[k] (AVG divides once): each value is computed
 *       once, so every rank gets the same bits;
 *   <li>copy out[1-k], the previous round's result, into chunk j-1 of the buffer.
 * </ol>
 * After the last round one more barrier, then the last chunk is copied out. Why the two slots
 * suffice: in[me][k] was last read by the reduction of round c-2, which every rank finished before
 * it arrived at barrier c-1, and this rank passed barrier c-1 before it copies in for round c;
 * out[k] was last read by the copy-out of round c-2, which every rank did before it arrived at
 * barrier c, and the reduction of round c writes only after barrier c. Nobody writes into another
 * rank's buffer, so a rank whose peer crashed or gave up returns with its buffer unharmed by it.
 *
 * <p>Per call of S bytes each rank copies S in and S out and reduces S/n from n slots: about 2.5
 * memcpy's of S for 2 ranks, against 1 for SharedMemoryAllReduce, where the ranks share a heap.
 * No allocation per call. Failures (a peer's process died, it stayed away for the timeout, an
 * interrupt, a peer left, different counts or ops) break the group: MappedGroup.
 *
 * <p>HierarchicalAllReduce uses two more calls: {@link #reduceToRankZero} (the rounds above, with
 * the copies out on rank 0 only) and {@link #broadcastFromRankZero} (per round rank 0 copies chunk
 * j into out[k], barrier, the others copy it out). Both go on with the same round and barrier
 * counters, and the two-slot argument holds across them: a round's out[k] is read only after the
 * barrier that publishes it (the round's own in a broadcast, the next one in a reduction) and
 * before the reader arrives at the barrier after that, while round c+2 writes out[k] only after
 * its writer has passed the barrier before its own, which every reader of round c has reached.
 */
public final class MappedAllReduce implements AllReduce {
  private static final sun.misc.Unsafe MEMORY = UnsafeAccess.UNSAFE;

  private final MappedGroup group;
  private final int rank;
  private final int maxFloats;
  private final String who;
  private final long[][] inputs; // [k][r]: address of in[r][k]
  private final long[] outputs; // [k]: address of out[k]
  private long barrier = 1; // the join
  private long round;
  private boolean closed;

  private MappedAllReduce(MappedGroup group, int maxFloats, String who) {
    this.group = group;
    this.rank = group.rank;
    this.maxFloats = maxFloats;
    this.who = who;
    int n = group.worldSize;
    inputs = new long[2][n];
    outputs = new long[2];
    for (int k = 0; k < 2; k++) {
      for (int r = 0; r < n; r++) inputs[k][r] = group.input(r, k);
      outputs[k] = group.output(k);
    }
  }

  /**
   * Joins generation {@code generation} as {@code rank}: maps the group file named by rank 0's
   * token and returns once every rank has joined, or throws a CollectiveException naming the
   * missing one (after the timeout, or at once when its process is gone).
   *
   * @param ranks each rank's node token, in rank order (all valid on this host: NodeToken.find)
   */
  static MappedAllReduce join(
      List<NodeToken> ranks, int generation, int rank, int slotBytes, long timeoutNs, int maxFloats) {
    int n = ranks.size();
    if (rank < 0 || rank >= n) throw new IllegalArgumentException("rank " + rank + " not in [0, " + n + ")");
    if (maxFloats < 0) throw new IllegalArgumentException("maxFloats " + maxFloats + " < 0");
    String who = "rank " + rank + " of " + n + " (generation " + generation + ", mapped file)";
    MappedAllReduce member =
        new MappedAllReduce(MappedGroup.open(ranks, generation, rank, slotBytes, timeoutNs, who), maxFloats, who);
    try {
      member.group.arriveAndAwait(member.barrier);
      return member;
    } catch (RuntimeException e) {
      member.close();
      throw e;
    }
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int worldSize() {
    return group.worldSize;
  }

  @Override
  public void allReduce(ByteBuffer buffer, int count, ReduceOp op) {
    reduce(buffer, count, op, true);
  }

  /** Like allReduce, but only rank 0's buffer gets the result; the others keep their input. */
  void reduceToRankZero(ByteBuffer buffer, int count, ReduceOp op) {
    reduce(buffer, count, op, rank == 0);
  }

  /**
   * Copies rank 0's floats [0, count) into every rank's buffer. The counts are not compared: it
   * follows a reduction of the same count, which compared them.
   */
  void broadcastFromRankZero(ByteBuffer buffer, int count) {
    checkUsable();
    AllReduce.checkArguments(buffer, count, maxFloats);
    if (group.worldSize == 1 || count == 0) return;
    long address = BufferUtil.address(buffer);
    long bytes = (long) count * Float.BYTES;
    for (long at = 0; at < bytes; at += group.slotBytes) {
      int k = (int) (round++ & 1);
      int length = (int) Math.min(group.slotBytes, bytes - at);
      if (rank == 0) MEMORY.copyMemory(address + at, outputs[k], length);
      group.arriveAndAwait(++barrier);
      if (rank != 0) MEMORY.copyMemory(outputs[k], address + at, length);
    }
  }

  /** Returns once every rank has called it (HierarchicalAllReduce: once the leaders' ring is up). */
  void awaitAll() {
    checkUsable();
    group.arriveAndAwait(++barrier);
  }

  /** Breaks the group because this rank failed outside it: peers that wait for it fail at once. */
  void breakForFailureOutside() {
    group.breakGroup(MappedGroup.Reason.OUTSIDE, rank);
  }

  /** Leaves the group (which breaks it: peers still waiting fail at once) and unmaps it. Idempotent. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    group.breakGroup(MappedGroup.Reason.LEFT, rank);
    group.close();
  }

  private void reduce(ByteBuffer buffer, int count, ReduceOp op, boolean copyOut) {
    checkUsable();
    AllReduce.checkArguments(buffer, count, maxFloats);
    if (group.worldSize == 1 || count == 0) return;
    group.announce(count, op);
    long address = BufferUtil.address(buffer);
    long bytes = (long) count * Float.BYTES;
    int chunk = group.slotBytes;
    for (long at = 0; at < bytes; at += chunk) {
      int k = (int) (round & 1);
      int length = (int) Math.min(chunk, bytes - at);
      MEMORY.copyMemory(address + at, inputs[k][rank], length);
      group.arriveAndAwait(++barrier);
      if (at == 0) checkSameCall(count, op);
      reduceOwnSegment(k, length, op);
      if (at > 0 && copyOut) MEMORY.copyMemory(outputs[1 - k], address + at - chunk, chunk);
      round++;
    }
    group.arriveAndAwait(++barrier);
    long last = (bytes - 1) / chunk * chunk;
    if (copyOut) MEMORY.copyMemory(outputs[(int) ((round - 1) & 1)], address + last, bytes - last);
  }

  private void checkUsable() {
    if (closed || group.isBroken()) throw closed ? new CollectiveException(who + ": closed") : group.broken();
  }

  private void checkSameCall(int count, ReduceOp op) {
    for (int r = 0; r < group.worldSize; r++) {
      String why = AllReduce.callMismatch(who, r, group.count(r), group.op(r), count, op);
      if (why != null) {
        group.breakGroup(MappedGroup.Reason.MISMATCH, r);
        throw new CollectiveException(why);
      }
    }
  }

  /** Segment {@code rank} of a chunk of {@code length} bytes, in blocks that stay in cache. */
  private void reduceOwnSegment(int k, int length, ReduceOp op) {
    int n = group.worldSize;
    int floats = length / Float.BYTES;
    long from = (long) floats * rank / n * Float.BYTES;
    long to = (long) floats * (rank + 1) / n * Float.BYTES;
    for (long offset = from; offset < to; offset += SharedMemoryAllReduce.BLOCK_BYTES) {
      op.reduce(inputs[k], offset, outputs[k] + offset, (int) Math.min(SharedMemoryAllReduce.BLOCK_BYTES, to - offset));
    }
  }
}
