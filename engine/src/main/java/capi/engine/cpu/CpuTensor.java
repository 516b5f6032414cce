package capi.engine.cpu;

import capi.engine.DType;
import capi.engine.Tensor;

/**
 * A tensor of the CPU backend: the window [off, off + len) of one Java array, float[] (F32),
 * double[] (F64), int[] (I32) or byte[] (U8); exactly one of f, d, i, u is set. A view shares the
 * array. Arrays hold at most 2³¹ − 9 elements, the CPU backend's limit per tensor.
 */
final class CpuTensor implements Tensor {
  final DType dtype;
  final float[] f;
  final double[] d;
  final int[] i;
  final byte[] u;
  final int off;
  final int len;
  final boolean owner;

  private CpuTensor(DType dtype, float[] f, double[] d, int[] i, byte[] u, int off, int len, boolean owner) {
    this.dtype = dtype;
    this.f = f;
    this.d = d;
    this.i = i;
    this.u = u;
    this.off = off;
    this.len = len;
    this.owner = owner;
  }

  static CpuTensor allocate(DType dtype, long length) {
    if (length < 0 || length > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("cpu backend: a tensor of " + length + " elements (at most 2^31 - 9 per tensor)");
    }
    int n = (int) length;
    return switch (dtype) {
      case F32 -> new CpuTensor(dtype, new float[n], null, null, null, 0, n, true);
      case F64 -> new CpuTensor(dtype, null, new double[n], null, null, 0, n, true);
      case I32 -> new CpuTensor(dtype, null, null, new int[n], null, 0, n, true);
      case U8 -> new CpuTensor(dtype, null, null, null, new byte[n], 0, n, true);
      case BF16 -> throw new IllegalArgumentException("cpu backend: BF16 tensors need the cuda backend");
    };
  }

  CpuTensor view(long offset, long length) {
    if (offset < 0 || length < 0 || offset + length > len) {
      throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + length) + ") of " + len);
    }
    return new CpuTensor(dtype, f, d, i, u, off + (int) offset, (int) length, false);
  }

  @Override
  public long length() {
    return len;
  }

  @Override
  public DType dtype() {
    return dtype;
  }

  /** Element k as a double (any dtype; U8 unsigned): for loops that are not hot. */
  double get(long k) {
    int at = off + (int) k;
    return switch (dtype) {
      case F32 -> f[at];
      case F64 -> d[at];
      case I32 -> i[at];
      case U8 -> u[at] & 0xFF;
      case BF16 -> throw new IllegalStateException();
    };
  }

  /** Sets element k of a float tensor (rounded to float for F32). */
  void set(long k, double v) {
    int at = off + (int) k;
    if (f != null) f[at] = (float) v;
    else d[at] = v;
  }

  /** Element k of an I32 tensor. */
  int index(long k) {
    return i[off + (int) k];
  }

  long bytes() {
    return (long) len * dtype.bytes();
  }
}
