package capi.collective;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One rank's handle on an all-reduce group: ranks of one JVM that read each other's buffers
 * ({@link SharedMemoryAllReduce}), processes of one host in a mapped file ({@link MappedAllReduce}),
 * both between hosts ({@link HierarchicalAllReduce}) or a ring over Aeron ({@link RingAllReduce});
 * {@link CollectiveNode} picks one from the endpoints (AllReducePlan). Used by one thread at a time. After a {@link CollectiveException}
 * the group is broken: close every rank and join again with a new generation.
 */
public interface AllReduce extends AutoCloseable {
  int rank();

  int worldSize();

  /**
   * Reduces floats [0, count) of {@code buffer} (direct, native byte order; its position is
   * ignored) over all ranks in place; every rank passes the same count and op and ends with
   * bit-identical results. AVG divides the reduced sum by the world size once.
   *
   * @throws CollectiveException when a peer stays away for the configured timeout, the thread is
   *     interrupted, or the group is broken
   */
  void allReduce(ByteBuffer buffer, int count, ReduceOp op);

  @Override
  void close();

  /**
   * Why a call cannot go on when rank {@code rank} passed {@code theirCount} floats and
   * {@code theirOp} where this rank passed {@code count} and {@code op}; null when they agree.
   * Every implementation compares the ranks' calls with it once all have arrived.
   */
  static String callMismatch(String who, int rank, int theirCount, ReduceOp theirOp, int count, ReduceOp op) {
    if (theirCount == count && theirOp == op) return null;
    return who + ": rank " + rank + " passed " + theirCount + " floats, " + theirOp + "; this rank " + count + ", " + op;
  }

  /** The argument checks every implementation makes before a call. */
  static void checkArguments(ByteBuffer buffer, int count, int maxFloats) {
    if (count < 0 || count > maxFloats) {
      throw new IllegalArgumentException("count " + count + " not in [0, maxFloats=" + maxFloats + "]");
    }
    if (!buffer.isDirect() || buffer.order() != ByteOrder.nativeOrder() || buffer.capacity() < (long) count * Float.BYTES) {
      throw new IllegalArgumentException("buffer must be direct, in native byte order and hold " + count + " floats");
    }
  }
}
