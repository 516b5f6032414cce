package capi.cuda;

import java.nio.ByteBuffer;

/**
 * The little the CUDA backend needs from a GPU: device memory, copies, kernel launches by name, a
 * strided-batched GEMM, and a stream to wait for. Everything is ordered on the device's one stream
 * (one Device per worker). Pointers are device addresses; sizes are bytes, 64-bit. Two
 * implementations: {@link CudaDevice} (the GPU through JavaCPP: cudart, the driver API, cuBLAS) and
 * {@link EmulatedDevice} (the same kernels compiled for the CPU, for tests without a GPU).
 */
interface Device extends AutoCloseable {
  /** One line: which device this is. */
  String describe();

  /** Streaming multiprocessors (grid sizes are chosen from it). */
  int multiprocessors();

  /** Device memory of `bytes` bytes, contents undefined; throws when the device is out of memory. */
  long alloc(long bytes);

  void free(long ptr);

  /** bytes at ptr ← value (stream-ordered). */
  void memset(long ptr, int value, long bytes);

  /** dst ← src, device to device (stream-ordered). */
  void copy(long src, long dst, long bytes);

  /**
   * Device dst ← src[srcOffset, srcOffset + bytes) of a direct buffer (stream-ordered); src may be
   * reused on return.
   */
  void upload(ByteBuffer src, long srcOffset, long dst, long bytes);

  /** dst[dstOffset, dstOffset + bytes) ← device src; returns when the bytes are there. */
  void download(long src, ByteBuffer dst, long dstOffset, long bytes);

  /** Launches args.kernel()'s entry point `name` on grid × block threads (1-D). */
  void launch(String name, int grid, int block, KernelArgs args);

  /**
   * cuBLAS semantics, column-major: for i in [0, batch): C_i ← alpha·op(A_i)·op(B_i) + beta·C_i with
   * op(A) m×k, op(B) k×n, X_i = x + i·strideX elements, storage and accumulation as type says;
   * beta = 0 does not read C.
   */
  void gemm(GemmType type, boolean transA, boolean transB, int m, int n, int k, double alpha, long a, int lda,
      long strideA, long b, int ldb, long strideB, double beta, long c, int ldc, long strideC, int batch);

  /** Waits until everything issued so far has finished. */
  void synchronize();

  /** A direct buffer of host memory the device copies from and to fastest (page-locked on a GPU). */
  ByteBuffer allocHost(long bytes);

  void freeHost(ByteBuffer buffer);

  @Override
  void close();
}
