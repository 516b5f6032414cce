package capi.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The arguments of one kernel launch, packed for {@link Device#launch}: one 8-byte slot per
 * parameter, in order, each value little-endian at the start of its slot (a pointer, long or
 * double fills it; an int or float its first 4 bytes). cuLaunchKernel gets a pointer to each slot;
 * the emulator unpacks the slots into the kernel's typed parameters. Reused launch after launch by
 * its owner (one per backend), so a launch allocates nothing.
 *
 * <pre>
 *   slot:   0        8        16       24
 *          [ptr x   ][long n  ][dbl v   ]...
 * </pre>
 */
final class KernelArgs {
  static final int MAX = 16;
  private final ByteBuffer buf = ByteBuffer.allocateDirect(8 * MAX).order(ByteOrder.LITTLE_ENDIAN);
  private Kernel kernel;
  private int count;

  /** Starts the arguments of a launch of k. */
  KernelArgs of(Kernel k) {
    kernel = k;
    count = 0;
    buf.clear();
    for (int i = 0; i < MAX; i++) buf.putLong(8 * i, 0);
    return this;
  }

  KernelArgs ptr(long devicePointer) {
    return i64(devicePointer);
  }

  KernelArgs i64(long v) {
    buf.putLong(8 * slot(), v);
    return this;
  }

  KernelArgs i32(int v) {
    buf.putInt(8 * slot(), v);
    return this;
  }

  KernelArgs f64(double v) {
    buf.putDouble(8 * slot(), v);
    return this;
  }

  private int slot() {
    if (count == MAX) throw new IllegalStateException(kernel.base + ": more than " + MAX + " arguments");
    return count++;
  }

  Kernel kernel() {
    return kernel;
  }

  int count() {
    return count;
  }

  /** The slots (absolute positions 0 .. 8·count). */
  ByteBuffer buffer() {
    return buf;
  }
}
