package capi.cuda;

import capi.engine.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The arguments of one kernel launch, packed for {@link Device#launch}: one 8-byte slot per
 * parameter, in order, each value little-endian at the start of its slot (a pointer, long or
 * double fills it; an int its first 4 bytes). cuLaunchKernel gets a pointer to each slot; the
 * emulator unpacks the slots into the kernel's typed parameters. A typed kernel's last parameter
 * is the storage types of its tensor arguments, 3 bits each in the order {@link #tensor} added
 * them ({@code capi.engine.DType} ordinals; kernels.cu's View reads them), appended by
 * {@link #complete}. Reused launch after launch by its owner (one per backend), so a launch
 * allocates nothing.
 *
 * <pre>
 *   slot:   0        8        16       24       32
 *          [ptr x   ][long n  ][dbl v   ][ptr y   ][int dt  ]      dt = type(x) | type(y) &lt;&lt; 3
 * </pre>
 */
final class KernelArgs {
  static final int MAX = 16;
  private static final int MAX_TENSORS = 10; // 3 bits each in an int
  private final ByteBuffer buf = ByteBuffer.allocateDirect(8 * MAX).order(ByteOrder.LITTLE_ENDIAN);
  private Kernel kernel;
  private int count;
  private int tensors;
  private int types;

  /** Starts the arguments of a launch of k. */
  KernelArgs of(Kernel k) {
    kernel = k;
    count = 0;
    tensors = 0;
    types = 0;
    for (int i = 0; i < MAX; i++) buf.putLong(8 * i, 0);
    return this;
  }

  KernelArgs ptr(long devicePointer) {
    return i64(devicePointer);
  }

  /** A tensor argument: its device address, and its storage type for the trailing types parameter. */
  KernelArgs tensor(long devicePointer, DType type) {
    if (tensors == MAX_TENSORS) throw new IllegalStateException(kernel.base + ": more than " + MAX_TENSORS + " tensor arguments");
    types |= type.ordinal() << (3 * tensors++);
    return ptr(devicePointer);
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

  /** Appends the storage types (typed kernels) and checks the count against the kernel's parameters. */
  KernelArgs complete() {
    if (kernel.typed) i32(types);
    if (count != kernel.arity) {
      throw new IllegalStateException(kernel.base + " launched with " + count + " arguments, it takes " + kernel.arity);
    }
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
