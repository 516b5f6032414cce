package capi.cuda;

import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_TF32;
import static org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_64F;
import static org.bytedeco.cuda.global.cublas.CUBLAS_GEMM_DEFAULT;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_N;
import static org.bytedeco.cuda.global.cublas.CUBLAS_OP_T;
import static org.bytedeco.cuda.global.cublas.cublasCreate_v2;
import static org.bytedeco.cuda.global.cublas.cublasDestroy_v2;
import static org.bytedeco.cuda.global.cublas.cublasGemmStridedBatchedEx;
import static org.bytedeco.cuda.global.cublas.cublasSetStream_v2;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;
import static org.bytedeco.cuda.global.cudart.CUDA_R_64F;
import static org.bytedeco.cuda.global.cudart.cuCtxSetCurrent;
import static org.bytedeco.cuda.global.cudart.cuDeviceGet;
import static org.bytedeco.cuda.global.cudart.cuDevicePrimaryCtxRetain;
import static org.bytedeco.cuda.global.cudart.cuInit;
import static org.bytedeco.cuda.global.cudart.cuLaunchKernel;
import static org.bytedeco.cuda.global.cudart.cuModuleGetFunction;
import static org.bytedeco.cuda.global.cudart.cuModuleLoadData;
import static org.bytedeco.cuda.global.cudart.cudaDevAttrMultiProcessorCount;
import static org.bytedeco.cuda.global.cudart.cudaDeviceGetAttribute;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorString;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemsetAsync;
import static org.bytedeco.cuda.global.cudart.cudaSetDevice;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreate;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A CUDA GPU through JavaCPP's CUDA presets (cudart, the driver API, cuBLAS; the libraries come
 * from the host: libcuda.so.1 of the driver and CUDA 13's libcudart/libcublas on LD_LIBRARY_PATH).
 * One stream and one cuBLAS handle per instance; the kernels' fatbin is loaded once per GPU with
 * cuModuleLoadData into its primary context. Every call first makes this device current on the calling thread, so
 * a worker may run on any thread. UNVERIFIED until run on a GPU (docs/GPU.md, scripts/gpu-check).
 */
final class CudaDevice implements Device {
  private static final ThreadLocal<CudaDevice> CURRENT = new ThreadLocal<>();

  private static final Map<Integer, Loaded> LOADED = new HashMap<>();

  private final int index;
  private final Loaded loaded;
  private final CUstream_st stream = new CUstream_st();
  private final cublasContext blas = new cublasContext();
  private final Map<ByteBuffer, Pointer> pinned = new IdentityHashMap<>();
  private final LongPointer params = new LongPointer(KernelArgs.MAX);
  private final FloatPointer alpha32 = new FloatPointer(1), beta32 = new FloatPointer(1);
  private final DoublePointer alpha64 = new DoublePointer(1), beta64 = new DoublePointer(1);
  private final int multiprocessors;
  private final String name;
  private ByteBuffer paramsOf; // the argument buffer `params` points into
  private boolean closed;

  /** A device address as a JavaCPP pointer. */
  private static final class Address extends Pointer {
    Address(long address) {
      this.address = address;
    }
  }

  /**
   * What every CudaDevice of one GPU shares for the life of the process: the primary context
   * (retained once, never released: re-creating it costs far more than keeping it) and the
   * kernels loaded into it, with their functions by name.
   */
  private static final class Loaded {
    final CUctx_st context = new CUctx_st();
    final CUmod_st module = new CUmod_st();
    final Map<String, CUfunc_st> functions = new java.util.concurrent.ConcurrentHashMap<>();

    Loaded(int index) {
      check(cudaSetDevice(index), "cudaSetDevice(" + index + ")");
      driver(cuInit(0), "cuInit");
      int[] dev = new int[1];
      driver(cuDeviceGet(dev, index), "cuDeviceGet");
      driver(cuDevicePrimaryCtxRetain(context, dev[0]), "cuDevicePrimaryCtxRetain");
      driver(cuCtxSetCurrent(context), "cuCtxSetCurrent");
      byte[] image = NativeResources.fatbin();
      BytePointer imageMem = new BytePointer(image.length);
      imageMem.put(image);
      driver(cuModuleLoadData(module, imageMem), "cuModuleLoadData(kernels.fatbin)");
    }

    CUfunc_st function(String kernel) {
      return functions.computeIfAbsent(kernel, k -> {
        CUfunc_st f = new CUfunc_st();
        driver(cuModuleGetFunction(f, module, k), "cuModuleGetFunction(" + k + ")");
        return f;
      });
    }
  }

  CudaDevice(int index) {
    this.index = index;
    synchronized (LOADED) {
      Loaded l = LOADED.get(index);
      if (l == null) LOADED.put(index, l = new Loaded(index));
      this.loaded = l;
    }
    CURRENT.remove();
    current();
    check(cudaStreamCreate(stream), "cudaStreamCreate");
    blas(cublasCreate_v2(blas), "cublasCreate");
    blas(cublasSetStream_v2(blas, stream), "cublasSetStream");
    int[] sms = new int[1];
    check(cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, index), "cudaDeviceGetAttribute");
    this.multiprocessors = sms[0];
    this.name = Devices.name(index);
  }

  /** Makes this device (and its primary context) current on the calling thread. */
  private void current() {
    if (closed) throw new IllegalStateException("CUDA device " + index + " is closed");
    if (CURRENT.get() != this) {
      check(cudaSetDevice(index), "cudaSetDevice(" + index + ")");
      driver(cuCtxSetCurrent(loaded.context), "cuCtxSetCurrent");
      CURRENT.set(this);
    }
  }

  static void check(int rc, String what) {
    if (rc != 0) throw new IllegalStateException(what + ": " + cudaGetErrorString(rc).getString() + " (" + rc + ")");
  }

  private static void driver(int rc, String what) {
    if (rc != 0) throw new IllegalStateException(what + ": CUresult " + rc);
  }

  private static void blas(int rc, String what) {
    if (rc != 0) throw new IllegalStateException(what + ": cublasStatus " + rc);
  }

  @Override
  public String describe() {
    return "CUDA device " + index + ": " + name + ", " + multiprocessors + " SMs";
  }

  @Override
  public int multiprocessors() {
    return multiprocessors;
  }

  @Override
  public long alloc(long bytes) {
    current();
    Pointer p = new Pointer();
    int rc = cudaMalloc(p, Math.max(bytes, 1));
    if (rc != 0) throw new OutOfMemoryError("cudaMalloc(" + bytes + ") on device " + index + ": " + cudaGetErrorString(rc).getString());
    return p.address();
  }

  @Override
  public void free(long ptr) {
    current();
    check(cudaFree(new Address(ptr)), "cudaFree");
  }

  @Override
  public void memset(long ptr, int value, long bytes) {
    current();
    check(cudaMemsetAsync(new Address(ptr), value, bytes, stream), "cudaMemsetAsync");
  }

  @Override
  public void copy(long src, long dst, long bytes) {
    current();
    check(cudaMemcpyAsync(new Address(dst), new Address(src), bytes, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync D2D");
  }

  private static long hostAddress(ByteBuffer b) {
    if (!b.isDirect()) throw new IllegalArgumentException("host buffers must be direct");
    ByteBuffer whole = b.duplicate();
    whole.clear();
    return new Pointer(whole).address();
  }

  @Override
  public void upload(ByteBuffer src, long srcOffset, long dst, long bytes) {
    current();
    check(cudaMemcpyAsync(new Address(dst), new Address(hostAddress(src) + srcOffset), bytes, cudaMemcpyHostToDevice, stream),
        "cudaMemcpyAsync H2D");
    // the source may be page-locked (then the copy is asynchronous): wait before it can be reused
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  }

  @Override
  public void download(long src, ByteBuffer dst, long dstOffset, long bytes) {
    current();
    check(cudaMemcpyAsync(new Address(hostAddress(dst) + dstOffset), new Address(src), bytes, cudaMemcpyDeviceToHost, stream),
        "cudaMemcpyAsync D2H");
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  }

  @Override
  public void launch(String kernel, int grid, int block, KernelArgs args) {
    current();
    CUfunc_st f = loaded.function(kernel);
    ByteBuffer a = args.buffer();
    if (a != paramsOf) { // kernelParams[i] = the address of argument slot i
      long base = hostAddress(a);
      for (int i = 0; i < KernelArgs.MAX; i++) params.put(i, base + 8L * i);
      paramsOf = a;
    }
    driver(cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, stream, params, null), "cuLaunchKernel(" + kernel + ")");
  }

  @Override
  public void gemm(GemmType type, boolean transA, boolean transB, int m, int n, int k, double alpha, long a, int lda,
      long strideA, long b, int ldb, long strideB, double beta, long c, int ldc, long strideC, int batch) {
    current();
    int in = cudaType(type.ab), out = cudaType(type.c);
    int compute = type == GemmType.F64 ? CUBLAS_COMPUTE_64F : type.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    Pointer al, be; // scale factors in the compute type
    if (type == GemmType.F64) {
      al = alpha64.put(0, alpha);
      be = beta64.put(0, beta);
    } else {
      al = alpha32.put(0, (float) alpha);
      be = beta32.put(0, (float) beta);
    }
    blas(cublasGemmStridedBatchedEx(blas, transA ? CUBLAS_OP_T : CUBLAS_OP_N, transB ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
        al, new Address(a), in, lda, strideA, new Address(b), in, ldb, strideB, be, new Address(c), out, ldc, strideC,
        batch, compute, CUBLAS_GEMM_DEFAULT), "cublasGemmStridedBatchedEx " + type + " " + m + "x" + n + "x" + k);
  }

  private static int cudaType(capi.engine.DType t) {
    return switch (t) {
      case F32 -> CUDA_R_32F;
      case F64 -> CUDA_R_64F;
      case BF16 -> CUDA_R_16BF;
      default -> throw new IllegalArgumentException("no cuBLAS type for " + t);
    };
  }

  @Override
  public void synchronize() {
    current();
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  }

  @Override
  public ByteBuffer allocHost(long bytes) {
    current();
    Pointer p = new Pointer();
    check(cudaMallocHost(p, bytes), "cudaMallocHost(" + bytes + ")");
    ByteBuffer b = new BytePointer(p).capacity(bytes).asByteBuffer();
    pinned.put(b, p);
    return b;
  }

  @Override
  public void freeHost(ByteBuffer buffer) {
    Pointer p = pinned.remove(buffer);
    if (p != null) {
      current();
      check(cudaFreeHost(p), "cudaFreeHost");
    }
  }

  @Override
  public void close() {
    if (closed) return;
    current();
    cudaStreamSynchronize(stream);
    for (Pointer p : pinned.values()) cudaFreeHost(p);
    pinned.clear();
    cublasDestroy_v2(blas);
    cudaStreamDestroy(stream);
    closed = true;
    CURRENT.remove();
  }
}
