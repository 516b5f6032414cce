package capi.collective;

import java.nio.ByteBuffer;
import org.agrona.UnsafeAccess;

/**
 * One rank of an all-reduce among ranks of one JVM, which read and write each other's buffers
 * directly (no log, no media driver). The buffer is cut into n segments as in the ring; rank r
 * owns segment r. A call has two barriers:
 * <ol>
 *   <li>every rank publishes its buffer and arrives (barrier 1): all inputs are ready;
 *   <li>rank r reduces segment r of all n buffers in rank order 0..n-1 into buffer 0, block by
 *       block while the block is in cache, divides it once for AVG, and copies the result into
 *       segment r of the other n-1 buffers: every rank ends with the same bits, and no segment is
 *       touched by two ranks;
 *   <li>every rank arrives (barrier 2): no peer writes into its buffer any more when it returns.
 * </ol>
 * Per call of S bytes each rank reads S and writes S bytes (its segment of every buffer); a ring
 * moves every segment through a log and out again. No allocation per call. After a {@link CollectiveException} (a peer
 * stayed away for the timeout, an interrupt, a peer closed) the group is broken; a peer that is
 * still copying stops at its next block.
 */
public final class SharedMemoryAllReduce implements AllReduce {
  /**
   * Bytes per pass: buffer 0's block stays in L2 from its first load to its last copy. Also how
   * much a rank may still write after a peer gave up. 16 KiB blocks, and reducing through heap
   * arrays (which C2 vectorises, unlike these raw loads), measured no clearly better: the loop
   * moves memory at about twice a memcpy's time for twice a memcpy's bytes.
   */
  static final int BLOCK_BYTES = 256 * 1024;
  private static final sun.misc.Unsafe MEMORY = UnsafeAccess.UNSAFE;

  private final Rendezvous.Groups groups;
  private final Rendezvous group;
  private final int rank;
  private final int maxFloats;
  private final String who;
  private long barrier = 1; // the join
  private boolean closed;

  private SharedMemoryAllReduce(Rendezvous.Groups groups, Rendezvous group, int rank, int maxFloats) {
    this.groups = groups;
    this.group = group;
    this.rank = rank;
    this.maxFloats = maxFloats;
    this.who = "rank " + rank + " of " + group.worldSize + " (generation " + group.generation + ", shared memory)";
  }

  /**
   * Joins generation {@code generation} of the node's shared-memory groups as {@code rank}; returns
   * once all {@code worldSize} ranks have joined, or throws a CollectiveException naming the
   * missing ones after {@code timeoutNs}.
   */
  static SharedMemoryAllReduce join(
      Rendezvous.Groups groups, long timeoutNs, int generation, int rank, int worldSize, int maxFloats) {
    if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " not in [0, " + worldSize + ")");
    if (maxFloats < 0) throw new IllegalArgumentException("maxFloats " + maxFloats + " < 0");
    SharedMemoryAllReduce member =
        new SharedMemoryAllReduce(groups, groups.enter(generation, rank, worldSize, timeoutNs), rank, maxFloats);
    try {
      member.group.arriveAndAwait(rank, member.barrier, member.who);
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
    if (group.isBroken() || closed) throw group.broken(who);
    AllReduce.checkArguments(buffer, count, maxFloats);
    int n = group.worldSize;
    if (n == 1 || count == 0) return;
    group.publish(rank, buffer, count, op);
    group.arriveAndAwait(rank, ++barrier, who);
    for (int r = 0; r < n; r++) {
      String why = AllReduce.callMismatch(who, r, group.counts[r], group.ops[r], count, op);
      if (why != null) {
        group.breakGroup(why);
        throw new CollectiveException(why);
      }
    }
    reduceOwnSegment(count, op);
    group.arriveAndAwait(rank, ++barrier, who);
  }

  /** Leaves the group (which breaks it: peers still waiting fail at once). Idempotent. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    groups.leave(group, rank);
  }

  private void reduceOwnSegment(int count, ReduceOp op) {
    int n = group.worldSize;
    long[] at = group.addresses;
    long from = (long) count * rank / n * Float.BYTES;
    long to = (long) count * (rank + 1) / n * Float.BYTES;
    for (long offset = from; offset < to; offset += BLOCK_BYTES) {
      if (group.isBroken()) throw group.broken(who); // a peer gave up: write into no one's buffer any more
      int bytes = (int) Math.min(BLOCK_BYTES, to - offset);
      long sum = at[0] + offset;
      op.reduce(at, offset, sum, bytes);
      for (int r = 1; r < n; r++) MEMORY.copyMemory(sum, at[r] + offset, bytes);
    }
  }
}
