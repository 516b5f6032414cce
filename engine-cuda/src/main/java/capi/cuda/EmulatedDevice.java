package capi.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The CUDA device emulated on the CPU (libcapi-emulator.so, JNI): the very kernels.cu the GPU runs,
 * compiled by g++ through emu.h; memory is host memory; the GEMM is a naive loop with cuBLAS's
 * semantics and storage rules. Slow (every block's threads run as coroutines on the calling thread),
 * so only for tests on small shapes; it makes the kernels' logic testable where there is no GPU.
 */
final class EmulatedDevice implements Device {
  private static final Object LOCK = new Object();
  private static boolean loaded;

  EmulatedDevice() {
    load();
  }

  static void load() {
    synchronized (LOCK) {
      if (!loaded) {
        System.load(NativeResources.extract("libcapi-emulator.so").toString());
        loaded = true;
      }
    }
  }

  @Override
  public String describe() {
    return "CUDA emulated on the CPU (libcapi-emulator.so)";
  }

  @Override
  public int multiprocessors() {
    return 1;
  }

  @Override
  public long alloc(long bytes) {
    long p = nAlloc(bytes);
    if (p == 0) throw new OutOfMemoryError("emulated device: cannot allocate " + bytes + " bytes");
    return p;
  }

  @Override
  public void free(long ptr) {
    nFree(ptr);
  }

  @Override
  public void memset(long ptr, int value, long bytes) {
    nMemset(ptr, value, bytes);
  }

  @Override
  public void copy(long src, long dst, long bytes) {
    nCopy(src, dst, bytes);
  }

  @Override
  public void upload(ByteBuffer src, long srcOffset, long dst, long bytes) {
    check(src, srcOffset, bytes);
    nToDevice(src, srcOffset, dst, bytes);
  }

  @Override
  public void download(long src, ByteBuffer dst, long dstOffset, long bytes) {
    check(dst, dstOffset, bytes);
    nToHost(src, dst, dstOffset, bytes);
  }

  private static void check(ByteBuffer b, long offset, long bytes) {
    if (!b.isDirect()) throw new IllegalArgumentException("host buffers must be direct");
    if (offset < 0 || offset + bytes > b.capacity()) {
      throw new IndexOutOfBoundsException("[" + offset + ", " + (offset + bytes) + ") of a " + b.capacity() + "-byte buffer");
    }
  }

  @Override
  public void launch(String name, int grid, int block, KernelArgs args) {
    String err = nLaunch(name, grid, block, args.buffer(), args.count());
    if (err != null) throw new IllegalStateException("emulated launch " + err);
  }

  @Override
  public void gemm(GemmType type, boolean transA, boolean transB, int m, int n, int k, double alpha, long a, int lda,
      long strideA, long b, int ldb, long strideB, double beta, long c, int ldc, long strideC, int batch) {
    String err = nGemm(type.ab.ordinal(), type.c.ordinal(), type.tf32, transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb,
        strideB, beta, c, ldc, strideC, batch);
    if (err != null) throw new IllegalStateException("emulated GEMM: " + err);
  }

  @Override
  public void synchronize() {}

  @Override
  public ByteBuffer allocHost(long bytes) {
    if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("host buffer of " + bytes + " bytes");
    return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
  }

  @Override
  public void freeHost(ByteBuffer buffer) {}

  @Override
  public void close() {}

  /** "name/arity" of every kernel the emulator has. */
  static String[] kernelList() {
    load();
    return nKernels();
  }

  // ---- JNI (src/main/native/emulator.cpp) ----
  private static native long nAlloc(long bytes);

  private static native void nFree(long ptr);

  private static native void nMemset(long ptr, int value, long bytes);

  private static native void nCopy(long src, long dst, long bytes);

  private static native void nToDevice(ByteBuffer src, long srcOffset, long dst, long bytes);

  private static native void nToHost(long src, ByteBuffer dst, long dstOffset, long bytes);

  private static native String[] nKernels();

  private static native String nLaunch(String name, int grid, int block, ByteBuffer args, int nargs);

  private static native String nGemm(int ab, int cType, boolean tf32, boolean transA, boolean transB, int m, int n, int k,
      double alpha, long a, int lda, long strideA, long b, int ldb, long strideB, double beta, long c, int ldc, long strideC,
      int batch);
}
