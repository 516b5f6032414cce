package capi.collective;

/**
 * The order of a ring all-reduce of n ranks, shared by the rings over Aeron (RingAllReduce) and
 * over TCP (TcpRingAllReduce): the buffer is cut into n segments; n-1 reduce-scatter steps, in each
 * of which a rank sends one segment to its right neighbour while it adds the one it receives from
 * its left into its own buffer, leave rank r owning the reduced segment r+1; then n-1 all-gather
 * steps pass the owned segments on around the ring. Every segment is reduced once, on one rank, and
 * then copied, so all ranks end with bit-identical results.
 */
final class RingSchedule {
  /** One step: send segment {@code send} while receiving segment {@code receive} (segment indices mod n). */
  interface Step {
    void run(int step, int send, int receive, boolean combining);
  }

  private RingSchedule() {}

  /**
   * Runs the 2(n-1) steps of rank {@code rank}; with AVG divides the owned segment (at
   * {@code address}, the buffer's first float) by n between the two phases. The all-gather's first
   * step is step n-1: it sends the rank's owned segment.
   */
  static void run(int rank, int n, int count, ReduceOp op, long address, Step step) {
    for (int s = 0; s < n - 1; s++) step.run(s, rank - s, rank - s - 1, true);
    if (op == ReduceOp.AVG) {
      int first = start(count, n, rank + 1, 0);
      ReduceOp.divide(address + (long) first * Float.BYTES, (start(count, n, rank + 1, 1) - first) * Float.BYTES, n);
    }
    for (int s = 0; s < n - 1; s++) step.run(n - 1 + s, rank + 1 - s, rank - s, false);
  }

  /** First float of segment i (mod n), plus 0 or 1: segment i ends where i+1 starts; lengths differ by at most 1. */
  static int start(int count, int n, int i, int plus) {
    int k = Math.floorMod(i, n) + plus;
    return (int) ((long) count * k / n);
  }
}
