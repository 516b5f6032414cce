package capi.cuda;

import capi.engine.DType;
import capi.engine.Tensor;

/**
 * A tensor of the CUDA backend: elements [offset, offset + length) of one device allocation (its
 * root), at device address {@link #ptr}. A view shares its root's memory and dtype.
 *
 * <p>I32 tensors (index sets) are written from the host only ({@code upload}), so the root keeps a
 * host copy of what was uploaded, its {@link #shadow}: scatterAddRows asks it whether a set of
 * indices repeats without reading the device. Anything else that writes an I32 tensor drops the
 * shadow ({@link #written}), and then the answer is "may repeat".
 */
final class DeviceTensor implements Tensor {
  final long ptr;
  final long length;
  final DType dtype;
  final DeviceTensor root; // this, for an allocation
  final long offset; // elements into root
  private int[] shadow; // root only: the uploaded values of an I32 allocation, or null when unknown

  /** An allocation of `length` elements at ptr. */
  DeviceTensor(long ptr, long length, DType dtype) {
    this.ptr = ptr;
    this.length = length;
    this.dtype = dtype;
    this.root = this;
    this.offset = 0;
  }

  private DeviceTensor(DeviceTensor parent, long offset, long length) {
    this.root = parent.root;
    this.offset = parent.offset + offset;
    this.dtype = parent.dtype;
    this.length = length;
    this.ptr = parent.ptr + offset * dtype.bytes();
  }

  DeviceTensor view(long offset, long length) {
    if (offset < 0 || length < 0 || offset + length > this.length) {
      throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + length) + ") of " + this.length);
    }
    return new DeviceTensor(this, offset, length);
  }

  boolean owner() {
    return root == this;
  }

  long bytes() {
    return length * dtype.bytes();
  }

  /** The device address of element i. */
  long at(long i) {
    return ptr + i * dtype.bytes();
  }

  @Override
  public long length() {
    return length;
  }

  @Override
  public DType dtype() {
    return dtype;
  }

  /** Values [from, from + n) of src were uploaded to elements [at, at + n) of this I32 tensor. */
  void uploaded(int[] src, int from, long at, int n) {
    if (dtype != DType.I32) return;
    int[] s = root.shadow;
    if (s == null) {
      if (root.length > Integer.MAX_VALUE - 8) return;
      if (offset + at != 0 || n != root.length) return; // a partial first write: the rest is unknown
      s = root.shadow = new int[(int) root.length];
    }
    System.arraycopy(src, from, s, (int) (offset + at), n);
  }

  /** Written on the device: the host copy, if any, is no longer known to be right. */
  void written() {
    root.shadow = null;
  }

  /** The uploaded values of this tensor's root allocation (this tensor's start at {@link #offset}), or null when unknown. */
  int[] shadow() {
    return root.shadow;
  }
}
