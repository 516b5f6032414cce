package capi.collective;

/**
 * Binary layout of one all-reduce chunk: one Aeron message (one frame, never fragmented), all
 * fields in native byte order (every node of a cluster must share it; x86-64 and aarch64 are
 * little-endian).
 *
 * <pre>
 * offset  size  field
 *      0     4  generation   ring generation given to join; chunks of another generation are dropped
 *      4     4  call         1 for the ring's first all-reduce, +1 per call
 *      8     2  step         0 .. 2(n-1)-1: reduce-scatter steps, then all-gather steps
 *     10     2  format       the payload's WireFormat (its ordinal): 0 float32, 1 bf16
 *     12     4  first        index of the first float of the payload in the all-reduce buffer
 *     16   b·k  payload      k values of b bytes each (the format's), k = (message length - 16) / b
 * </pre>
 */
final class ChunkHeader {
  static final int GENERATION = 0;
  static final int CALL = 4;
  static final int STEP = 8;
  static final int FORMAT = 10;
  static final int FIRST = 12;
  static final int LENGTH = 16;

  private ChunkHeader() {}
}
