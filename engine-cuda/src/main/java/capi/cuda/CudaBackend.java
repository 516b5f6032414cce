package capi.cuda;

import capi.engine.AttentionShape;
import capi.engine.Backend;
import capi.engine.DType;
import capi.engine.Precision;
import capi.engine.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The engine's {@link Backend} with every tensor resident on a CUDA device: matrix products through
 * the device's cuBLAS ({@link GemmType}: float32 or TF32, bf16 inputs into float32 or bf16,
 * float64), attention as batched products around fused softmax kernels ({@link CudaAttention}),
 * every other primitive one or two launches of kernels.cu ({@link Kernel}). Works over any
 * {@link Device}: the GPU ({@link CudaDevice}) or its CPU emulation ({@link EmulatedDevice}, tests).
 *
 * <p>Dtypes: every tensor has its own (F32, F64, BF16, I32, U8); kernels read and write each
 * argument in its storage and compute in float (float32, bf16-mixed) or double (float64).
 *
 * <p>Host traffic: nothing is read back inside a step. Reductions that the engine wants as numbers
 * (sums of squares, losses, entropy) land in slots of an F64 scalars tensor on the device. Uploads
 * of host arrays go through a pageable staging buffer in chunks; {@link #hostBuffer} is page-locked
 * memory for {@link #stage}/{@link #unstage}.
 *
 * <p>Results are deterministic: no kernel uses atomics, and every reduction adds in one fixed
 * order. Memory: tensors are allocated zeroed; scratch buffers (partial sums, attention scores,
 * conversions, the optimiser's table) grow to the largest size asked for and are reused.
 * {@link #allocatedBytes()} counts the tensors, {@link #peakDeviceBytes()} everything this backend
 * held at once. One backend serves one thread at a time (its worker); every device call makes the
 * device current on the calling thread.
 */
public final class CudaBackend implements Backend {
  /** Options: float32 products on TF32 tensor cores (10-bit mantissa inputs, float32 accumulation). */
  public record Options(boolean tf32) {
    public static final Options EXACT = new Options(false);
  }

  static final int THREADS = 256;
  private static final long CHECKSUM_CHUNK = 4096;
  private static final int STAGING_BYTES = 16 << 20; // chunk of host-array transfers

  final Device dev;
  private final Precision precision;
  private final boolean tf32;
  private final int accBytes; // bytes of the arithmetic type (partial sums)
  private final int elementBlocks; // grid cap of element-wise kernels
  private final int rowBlocks; // grid cap of row kernels
  private final KernelArgs args = new KernelArgs();
  private final CudaAttention attention;
  final Scratch partials = new Scratch(), table = new Scratch(), converted = new Scratch(), imageStats = new Scratch();
  private final Set<DeviceTensor> live = new LinkedHashSet<>();
  private final List<ByteBuffer> pinned = new ArrayList<>();
  private ByteBuffer staging = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.nativeOrder());
  private long[] seen = new long[0]; // a bitmap over index values, all zero between calls
  private double[] imageTable; // mean and std last uploaded into imageStats (null: none)
  private long liveBytes, held, peak;
  private long gemmFlops; // 2·m·n·k per product, since creation
  private boolean closed;

  /** A device buffer that grows to the largest size asked for; its contents do not survive growth. */
  final class Scratch {
    private long ptr;
    private long bytes;

    long get(long need) {
      if (need > bytes) {
        release();
        bytes = Math.max(need, 256);
        ptr = dev.alloc(bytes);
        hold(bytes);
      }
      return ptr;
    }

    void release() {
      if (ptr != 0) {
        dev.free(ptr);
        held -= bytes;
        ptr = 0;
        bytes = 0;
      }
    }
  }

  public CudaBackend(Device device, Precision precision, Options options) {
    this.dev = device;
    this.precision = precision;
    this.tf32 = options.tf32();
    this.accBytes = precision == Precision.FLOAT64 ? 8 : 4;
    int sms = Math.max(1, device.multiprocessors());
    this.elementBlocks = 8 * sms;
    this.rowBlocks = 16 * sms;
    this.attention = new CudaAttention(this);
  }

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public Precision precision() {
    return precision;
  }

  @Override
  public String describe() {
    return dev.describe() + ", " + precision.configName() + (tf32 ? ", TF32" : "");
  }

  /** The most device memory this backend held at once: tensors and scratch buffers (not cuBLAS's workspace). */
  public long peakDeviceBytes() {
    return peak;
  }

  /** Floating-point operations of the matrix products issued so far (2·m·n·k each): the step's dense work. */
  public long gemmFlops() {
    return gemmFlops;
  }

  /** Waits for the device to finish what was issued. */
  public void synchronize() {
    dev.synchronize();
  }

  private void hold(long bytes) {
    held += bytes;
    peak = Math.max(peak, held);
  }

  static DeviceTensor d(Tensor t) {
    return (DeviceTensor) t;
  }

  // ---- memory -------------------------------------------------------------------------------------

  @Override
  public Tensor allocate(DType dtype, long length) {
    if (length < 0) throw new IllegalArgumentException("cuda backend: a tensor of " + length + " elements");
    long bytes = Math.multiplyExact(length, (long) dtype.bytes()), size = Math.max(bytes, 1);
    long p = dev.alloc(size);
    dev.memset(p, 0, size);
    DeviceTensor t = new DeviceTensor(p, length, dtype);
    live.add(t);
    liveBytes += bytes;
    hold(size);
    return t;
  }

  @Override
  public Tensor view(Tensor t, long offset, long length) {
    return d(t).view(offset, length);
  }

  @Override
  public void free(Tensor t) {
    if (t != null && d(t).owner() && live.remove(d(t))) {
      dev.free(d(t).ptr);
      liveBytes -= d(t).bytes();
      held -= Math.max(d(t).bytes(), 1);
    }
  }

  @Override
  public long allocatedBytes() {
    return liveBytes;
  }

  @Override
  public ByteBuffer hostBuffer(long bytes) {
    ByteBuffer b = dev.allocHost(bytes).order(ByteOrder.nativeOrder());
    pinned.add(b);
    return b;
  }

  // ---- transfers ----------------------------------------------------------------------------------

  /** The host staging buffer, at least `bytes` long (at most STAGING_BYTES are asked for). */
  private ByteBuffer staging(int bytes) {
    if (staging.capacity() < bytes) staging = ByteBuffer.allocateDirect(Math.max(bytes, 2 * staging.capacity())).order(ByteOrder.nativeOrder());
    staging.clear();
    return staging;
  }

  private static void checkRange(Tensor t, long offset, long n) {
    if (offset < 0 || n < 0 || offset + n > t.length()) {
      throw new IndexOutOfBoundsException("[" + offset + ", " + (offset + n) + ") of a tensor of " + t.length());
    }
  }

  private static void floatDst(Tensor t, String what) {
    if (!t.dtype().isFloat()) throw new IllegalArgumentException("cuda backend: " + what + " into " + t.dtype());
  }

  private static short bf16(double v) {
    return (short) (Float.floatToRawIntBits(DType.roundToBf16((float) v)) >>> 16);
  }

  private static float fromBf16(short s) {
    return Float.intBitsToFloat((s & 0xFFFF) << 16);
  }

  /** Puts v at element i of the staging buffer in float storage t. */
  private static void put(ByteBuffer h, DType t, int i, double v) {
    switch (t) {
      case F32 -> h.putFloat(4 * i, (float) v);
      case F64 -> h.putDouble(8 * i, v);
      case BF16 -> h.putShort(2 * i, bf16(v));
      default -> throw new IllegalStateException(t.toString());
    }
  }

  /** Element i of the staging buffer holding storage t. */
  private static double get(ByteBuffer h, DType t, int i) {
    return switch (t) {
      case F32 -> h.getFloat(4 * i);
      case F64 -> h.getDouble(8 * i);
      case BF16 -> fromBf16(h.getShort(2 * i));
      case I32 -> h.getInt(4 * i);
      case U8 -> h.get(i) & 0xFF;
    };
  }

  /** Fills the staging buffer with host elements [from, from + m) in the tensor's storage. */
  private interface ChunkWriter {
    void write(ByteBuffer h, int from, int m);
  }

  /** Takes host elements [from, from + m) from the staging buffer holding them as stored. */
  private interface ChunkReader {
    void read(ByteBuffer h, int from, int m);
  }

  /** dst[dstOffset, dstOffset + n) ← n host elements, a staging buffer's worth at a time. */
  private void uploadChunks(Tensor dst, long dstOffset, int n, ChunkWriter writer) {
    checkRange(dst, dstOffset, n);
    int es = dst.dtype().bytes(), per = STAGING_BYTES / es;
    for (int done = 0; done < n; done += per) {
      int m = Math.min(n - done, per);
      ByteBuffer h = staging(m * es);
      writer.write(h, done, m);
      dev.upload(h, 0, d(dst).at(dstOffset + done), (long) m * es);
    }
  }

  /** n host elements ← src[srcOffset, srcOffset + n), a staging buffer's worth at a time. */
  private void downloadChunks(Tensor src, long srcOffset, int n, ChunkReader reader) {
    checkRange(src, srcOffset, n);
    int es = src.dtype().bytes(), per = STAGING_BYTES / es;
    for (int done = 0; done < n; done += per) {
      int m = Math.min(n - done, per);
      ByteBuffer h = staging(m * es);
      dev.download(d(src).at(srcOffset + done), h, 0, (long) m * es);
      reader.read(h, done, m);
    }
  }

  @Override
  public void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    floatDst(dst, "double[]");
    DType t = dst.dtype();
    uploadChunks(dst, dstOffset, n, (h, from, m) -> {
      for (int i = 0; i < m; i++) put(h, t, i, src[srcOffset + from + i]);
    });
  }

  @Override
  public void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    floatDst(dst, "float[]");
    DType t = dst.dtype();
    uploadChunks(dst, dstOffset, n, (h, from, m) -> {
      if (t == DType.F32) h.asFloatBuffer().put(src, srcOffset + from, m);
      else for (int i = 0; i < m; i++) put(h, t, i, src[srcOffset + from + i]);
    });
  }

  @Override
  public void upload(int[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    if (dst.dtype() != DType.I32) throw new IllegalArgumentException("cuda backend: int[] into " + dst.dtype());
    uploadChunks(dst, dstOffset, n, (h, from, m) -> h.asIntBuffer().put(src, srcOffset + from, m));
    d(dst).uploaded(src, srcOffset, dstOffset, n);
  }

  @Override
  public void upload(byte[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    if (dst.dtype() != DType.U8) throw new IllegalArgumentException("cuda backend: byte[] into " + dst.dtype());
    uploadChunks(dst, dstOffset, n, (h, from, m) -> h.put(0, src, srcOffset + from, m));
  }

  @Override
  public void download(Tensor src, long srcOffset, double[] dst, int dstOffset, int n) {
    DType t = src.dtype();
    downloadChunks(src, srcOffset, n, (h, from, m) -> {
      for (int i = 0; i < m; i++) dst[dstOffset + from + i] = get(h, t, i);
    });
  }

  @Override
  public void download(Tensor src, long srcOffset, float[] dst, int dstOffset, int n) {
    DType t = src.dtype();
    downloadChunks(src, srcOffset, n, (h, from, m) -> {
      if (t == DType.F32) h.asFloatBuffer().get(dst, dstOffset + from, m);
      else for (int i = 0; i < m; i++) dst[dstOffset + from + i] = (float) get(h, t, i);
    });
  }

  @Override
  public void download(Tensor src, long srcOffset, int[] dst, int dstOffset, int n) {
    if (src.dtype() != DType.I32) throw new IllegalArgumentException("cuda backend: int[] from " + src.dtype());
    downloadChunks(src, srcOffset, n, (h, from, m) -> h.asIntBuffer().get(dst, dstOffset + from, m));
  }

  @Override
  public void stage(Tensor src, ByteBuffer dst) {
    long bytes = 4 * src.length();
    checkHost(dst, bytes);
    long from = d(src).ptr;
    if (src.dtype() != DType.F32) {
      from = converted.get(bytes);
      convert(d(src).ptr, src.dtype(), from, DType.F32, src.length());
    }
    dev.download(from, dst, 0, bytes);
  }

  @Override
  public void unstage(ByteBuffer src, Tensor dst) {
    long bytes = 4 * dst.length();
    checkHost(src, bytes);
    if (dst.dtype() == DType.F32) {
      dev.upload(src, 0, d(dst).ptr, bytes);
    } else {
      long tmp = converted.get(bytes);
      dev.upload(src, 0, tmp, bytes);
      convert(tmp, DType.F32, d(dst).ptr, dst.dtype(), dst.length());
    }
    d(dst).written();
  }

  private static void checkHost(ByteBuffer b, long bytes) {
    if (!b.isDirect()) throw new IllegalArgumentException("cuda backend: host buffers must be direct");
    if (b.capacity() < bytes) throw new IllegalArgumentException("cuda backend: " + bytes + " bytes into a host buffer of " + b.capacity());
  }

  // ---- launches -----------------------------------------------------------------------------------

  KernelArgs k(Kernel kernel) {
    return args.of(kernel);
  }

  /** A tensor argument of the launch being built (null: a null pointer). */
  KernelArgs t(Tensor x) {
    return x == null ? args.tensor(0, DType.F32) : args.tensor(d(x).ptr, x.dtype());
  }

  /** A tensor argument that the kernel writes. */
  KernelArgs out(Tensor x) {
    if (x != null) d(x).written();
    return t(x);
  }

  /** An I32 index argument. */
  KernelArgs index(Tensor x) {
    if (x.dtype() != DType.I32) throw new IllegalArgumentException("cuda backend: index of dtype " + x.dtype());
    return args.ptr(d(x).ptr);
  }

  /** An element-wise launch over n items: 256 threads a block, at most elementBlocks blocks (grid-stride). */
  void elements(long n) {
    launch(elementGrid(n), THREADS);
  }

  private int elementGrid(long n) {
    return (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, elementBlocks));
  }

  /** A block per row (rows stride over at most rowBlocks blocks); a block as wide as the row, up to 256. */
  void rows(long rows, long cols) {
    int block = (int) Math.min(THREADS, Math.max(32, (cols + 31) / 32 * 32));
    launch((int) Math.max(1, Math.min(rows, rowBlocks)), block);
  }

  void launch(int grid, int block) {
    args.complete();
    dev.launch(args.kernel().name(precision), grid, block, args);
  }

  /** n elements at src (storage from) into dst (storage to). */
  private void convert(long src, DType from, long dst, DType to, long n) {
    k(Kernel.CONVERT);
    args.tensor(src, from).tensor(dst, to).i64(n);
    elements(n);
  }

  /** scalars[slot] ← Σ of n float64 partials at p, in order. */
  private void sumInto(long p, long n, Tensor scalars, int slot) {
    if (scalars.dtype() != DType.F64) throw new IllegalArgumentException("cuda backend: scalars of dtype " + scalars.dtype());
    checkRange(scalars, slot, 1);
    k(Kernel.SUM_DOUBLES).ptr(p).i64(n).ptr(d(scalars).at(slot));
    launch(1, THREADS);
  }

  // ---- element-wise -------------------------------------------------------------------------------

  @Override
  public void fill(Tensor t, double value) {
    d(t).written();
    if (Double.doubleToRawLongBits(value) == 0) {
      dev.memset(d(t).ptr, 0, d(t).bytes());
      return;
    }
    k(Kernel.FILL);
    t(t).i64(t.length()).f64(value);
    elements(t.length());
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    if (src.length() != dst.length()) throw new IllegalArgumentException("copy of " + src.length() + " into " + dst.length());
    d(dst).written();
    if (src.dtype() == dst.dtype()) dev.copy(d(src).ptr, d(dst).ptr, d(src).bytes());
    else convert(d(src).ptr, src.dtype(), d(dst).ptr, dst.dtype(), src.length());
  }

  @Override
  public void axpy(double a, Tensor x, Tensor y) {
    k(Kernel.AXPY).i64(x.length()).f64(a);
    t(x);
    out(y);
    elements(x.length());
  }

  @Override
  public void scale(Tensor x, double a) {
    k(Kernel.SCALE).i64(x.length()).f64(a);
    out(x);
    elements(x.length());
  }

  @Override
  public void sumSquares(Tensor x, Tensor scalars, int slot) {
    int grid = elementGrid(x.length());
    long part = partials.get(8L * grid);
    k(Kernel.SUM_SQUARES);
    t(x).i64(x.length()).ptr(part);
    launch(grid, THREADS);
    sumInto(part, grid, scalars, slot);
  }

  @Override
  public long checksum(Tensor x) {
    long n = x.length(), chunks = (n + CHECKSUM_CHUNK - 1) / CHECKSUM_CHUNK;
    long part = partials.get(8 * Math.max(1, chunks));
    if (chunks > 0) {
      k(Kernel.CHECKSUM);
      t(x).i64(n).i64(CHECKSUM_CHUNK).ptr(part);
      elements(chunks);
    }
    // h ← 31·h + bits over all elements = h·31^len + Σ bits·31^(len−1−i), chunk by chunk
    long hash = 1125899906842597L;
    for (long c0 = 0; c0 < chunks; c0 += STAGING_BYTES / 8) {
      int m = (int) Math.min(chunks - c0, STAGING_BYTES / 8);
      ByteBuffer h = staging(8 * m);
      dev.download(part + 8 * c0, h, 0, 8L * m);
      for (int i = 0; i < m; i++) {
        long c = c0 + i, len = Math.min(CHECKSUM_CHUNK, n - c * CHECKSUM_CHUNK);
        hash = hash * pow31(len) + h.getLong(8 * i);
      }
    }
    return hash;
  }

  private static long pow31(long e) {
    long r = 1, b = 31;
    for (; e > 0; e >>= 1, b *= b) if ((e & 1) != 0) r *= b;
    return r;
  }

  // ---- matrix products ----------------------------------------------------------------------------

  @Override
  public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Tensor a, long aOffset, int lda,
      Tensor b, long bOffset, int ldb, double beta, Tensor c, long cOffset, int ldc, int batch, long strideA,
      long strideB, long strideC) {
    GemmType type = gemmType(a.dtype(), b.dtype(), c.dtype());
    d(c).written();
    gemm(type, transA, transB, m, n, k, alpha, d(a).at(aOffset), lda, strideA, d(b).at(bOffset), ldb, strideB, beta,
        d(c).at(cOffset), ldc, strideC, batch);
  }

  /** Row-major C_i = alpha·op(A_i)·op(B_i) + beta·C_i at device addresses (column-major Cᵀ = op(B)ᵀ·op(A)ᵀ over the same memory). */
  void gemm(GemmType type, boolean transA, boolean transB, int m, int n, int k, double alpha, long a, int lda, long strideA,
      long b, int ldb, long strideB, double beta, long c, int ldc, long strideC, int batch) {
    if (m == 0 || n == 0 || batch == 0) return;
    gemmFlops += 2L * m * n * k * batch;
    dev.gemm(type, transB, transA, n, m, k, alpha, b, ldb, strideB, a, lda, strideA, beta, c, ldc, strideC, batch);
  }

  /** The product type of A and B into C under this backend's options. */
  GemmType gemmType(DType a, DType b, DType c) {
    return GemmType.of(a, b, c, tf32);
  }

  // ---- rows ---------------------------------------------------------------------------------------

  @Override
  public void addRowVector(Tensor x, long rows, int cols, Tensor v) {
    k(Kernel.ADD_ROW_VECTOR);
    out(x).i64(rows).i64(cols);
    t(v);
    elements(rows * cols);
  }

  @Override
  public void sumRows(Tensor x, long rows, int cols, Tensor out) {
    long perChunk = rowsPerChunk(rows, cols), chunks = (rows + perChunk - 1) / perChunk;
    long part = partials.get(Math.max(1, chunks) * cols * accBytes);
    k(Kernel.SUM_ROWS_PARTIAL);
    t(x).i64(rows).i64(cols).i64(perChunk).ptr(part);
    elements(chunks * cols);
    addPartials(part, chunks, cols, out);
  }

  /** Rows per chunk of a column reduction: enough chunks × columns to fill the device, at least 32 rows each. */
  private long rowsPerChunk(long rows, long cols) {
    long threads = (long) elementBlocks * THREADS, chunks = Math.max(1, Math.min(threads / Math.max(1, cols), (rows + 31) / 32));
    return Math.max(1, (rows + chunks - 1) / chunks);
  }

  private void addPartials(long part, long chunks, long cols, Tensor out) {
    k(Kernel.ADD_PARTIALS).ptr(part).i64(chunks).i64(cols);
    out(out);
    elements(cols);
  }

  @Override
  public void gatherRows(Tensor src, Tensor index, int cols, Tensor dst) {
    long n = index.length();
    if (n == 0) return;
    k(Kernel.GATHER_ROWS);
    t(src);
    index(index).i64(n).i64(cols);
    out(dst);
    elements(n * cols);
  }

  @Override
  public void scatterAddRows(Tensor src, Tensor index, int cols, double alpha, Tensor dst) {
    long n = index.length();
    if (n == 0) return;
    boolean distinct = index.dtype() == DType.I32 && distinct(d(index));
    k(distinct ? Kernel.SCATTER_ADD_ROWS : Kernel.SCATTER_ADD_ROWS_SERIAL);
    t(src);
    index(index).i64(n).i64(cols).f64(alpha);
    out(dst);
    elements(distinct ? n * cols : cols);
  }

  /** Whether the values of I32 tensor x are known (from its host copy) to be pairwise distinct. */
  private boolean distinct(DeviceTensor x) {
    int[] s = x.shadow();
    if (s == null) return false;
    int from = (int) x.offset, to = (int) (x.offset + x.length), max = 0;
    for (int i = from; i < to; i++) {
      if (s[i] < 0) return false;
      max = Math.max(max, s[i]);
    }
    if (seen.length <= max >> 6) seen = new long[(max >> 6) + 1];
    boolean distinct = true;
    for (int i = from; i < to && distinct; i++) {
      long bit = 1L << (s[i] & 63);
      distinct = (seen[s[i] >> 6] & bit) == 0;
      seen[s[i] >> 6] |= bit;
    }
    for (int i = from; i < to; i++) seen[s[i] >> 6] = 0; // clean for the next call
    return distinct;
  }

  @Override
  public void patchify(Tensor images, int channels, int height, int width, int patch, Tensor index, Tensor dst) {
    long n = index.length();
    if (n == 0) return;
    k(Kernel.PATCHIFY);
    t(images).i32(channels).i32(height).i32(width).i32(patch);
    index(index).i64(n);
    out(dst);
    elements(n * channels * patch * patch);
  }

  @Override
  public void normalizeImages(Tensor pixels, int channels, long plane, double[] mean, double[] std, Tensor dst) {
    if (pixels.dtype() != DType.U8) throw new IllegalArgumentException("cuda backend: pixels of dtype " + pixels.dtype());
    if (mean.length < channels || std.length < channels) throw new IllegalArgumentException("mean and std need " + channels + " values");
    double[] values = new double[2 * channels];
    System.arraycopy(mean, 0, values, 0, channels);
    System.arraycopy(std, 0, values, channels, channels);
    long tab = imageStats.get(8L * values.length); // the same place while the size stays
    if (!Arrays.equals(values, imageTable)) { // constant over a run: uploaded once
      ByteBuffer h = staging(8 * values.length);
      h.asDoubleBuffer().put(values);
      dev.upload(h, 0, tab, 8L * values.length);
      imageTable = values;
    }
    k(Kernel.NORMALIZE_IMAGES).ptr(d(pixels).ptr).i64(channels).i64(plane).i64(pixels.length()).ptr(tab);
    out(dst);
    elements(pixels.length());
  }

  @Override
  public void tokenCoordinates(Tensor patchIndex, int batch, int registers, int gridH, int gridW, Tensor coords) {
    if (batch == 0) return;
    if (registers % 4 != 0) throw new IllegalArgumentException("cuda backend: " + registers + " registers, not a multiple of 4");
    long tokens = patchIndex.length() / batch;
    k(Kernel.TOKEN_COORDINATES);
    index(patchIndex).i64(batch).i64(registers).i64(tokens).i64(gridH).i64(gridW);
    out(coords);
    rows(batch, Math.max(tokens, registers));
  }

  // ---- normalisations -----------------------------------------------------------------------------

  @Override
  public void rmsNorm(Tensor x, Tensor w, long rows, int cols, double eps, Tensor y, Tensor rstd) {
    k(Kernel.RMS_NORM);
    t(x);
    t(w).i64(rows).i64(cols).f64(eps);
    out(y);
    out(rstd);
    rows(rows, cols);
  }

  @Override
  public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, long rows, int cols, Tensor dx, Tensor dw) {
    k(Kernel.RMS_NORM_BACKWARD);
    t(x);
    t(w);
    t(rstd);
    t(dy).i64(rows).i64(cols);
    out(dx);
    rows(rows, cols);
    if (w != null && dw != null) {
      long perChunk = rowsPerChunk(rows, cols), chunks = (rows + perChunk - 1) / perChunk;
      long part = partials.get(Math.max(1, chunks) * cols * accBytes);
      k(Kernel.RMS_NORM_DW_PARTIAL);
      t(x);
      t(rstd);
      t(dy).i64(rows).i64(cols).i64(perChunk).ptr(part);
      elements(chunks * cols);
      addPartials(part, chunks, cols, dw);
    }
  }

  @Override
  public void l2Normalize(Tensor x, long rows, int cols, double eps, Tensor y, Tensor norm) {
    k(Kernel.L2_NORMALIZE);
    t(x).i64(rows).i64(cols).f64(eps);
    out(y);
    out(norm);
    rows(rows, cols);
  }

  @Override
  public void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, long rows, int cols, double eps, Tensor dx) {
    k(Kernel.L2_NORMALIZE_BACKWARD);
    t(y);
    t(norm);
    t(dy).i64(rows).i64(cols).f64(eps);
    out(dx);
    rows(rows, cols);
  }

  @Override
  public void weightNorm(Tensor v, Tensor g, long rows, int cols, Tensor w, Tensor norms) {
    k(Kernel.WEIGHT_NORM);
    t(v);
    t(g).i64(rows).i64(cols);
    out(w);
    out(norms);
    rows(rows, cols);
  }

  @Override
  public void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, long rows, int cols, Tensor dv, Tensor dg) {
    k(Kernel.WEIGHT_NORM_BACKWARD);
    t(v);
    t(g);
    t(norms);
    t(dw).i64(rows).i64(cols);
    out(dv);
    out(dg);
    rows(rows, cols);
  }

  // ---- activations and RoPE -----------------------------------------------------------------------

  @Override
  public void gelu(Tensor x, Tensor y) {
    k(Kernel.GELU);
    t(x);
    out(y).i64(x.length());
    elements(x.length());
  }

  @Override
  public void geluBackward(Tensor x, Tensor dy, Tensor dx) {
    k(Kernel.GELU_BACKWARD);
    t(x);
    t(dy);
    out(dx).i64(x.length());
    elements(x.length());
  }

  @Override
  public void ropeTables(Tensor coords, Tensor freqs, long rows, int headDim, Tensor cos, Tensor sin) {
    k(Kernel.ROPE_TABLES);
    t(coords);
    t(freqs).i64(rows).i32(headDim);
    out(cos);
    out(sin);
    elements(rows * headDim);
  }

  @Override
  public void rope(Tensor x, int ld, long rows, int heads, int headDim, Tensor cos, Tensor sin, long tableRows,
      boolean transpose) {
    k(Kernel.ROPE);
    out(x).i64(ld).i64(rows).i32(heads).i32(headDim);
    t(cos);
    t(sin).i64(tableRows).i32(transpose ? 1 : 0);
    elements(rows * heads * (headDim / 2));
  }

  // ---- attention ----------------------------------------------------------------------------------

  @Override
  public long attentionStashLength(int batch, int heads, int nq, int nk) {
    return attention.stashLength(batch, heads, nq, nk);
  }

  @Override
  public void attention(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor stash) {
    d(out).written();
    attention.forward(s, d(q), d(k), d(v), d(out), stash == null ? null : d(stash));
  }

  @Override
  public void attentionBackward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor stash, Tensor dOut,
      Tensor dq, Tensor dk, Tensor dv) {
    for (Tensor g : new Tensor[] {dq, dk, dv}) d(g).written();
    attention.backward(s, d(q), d(k), d(v), d(stash), d(dOut), d(dq), d(dk), d(dv));
  }

  // ---- losses -------------------------------------------------------------------------------------

  @Override
  public void softTargetCrossEntropy(Tensor z, Tensor t, long rows, int cols, double temp, Tensor dz, double gradScale,
      Tensor scalars, int slot) {
    long loss = partials.get(8L * Math.max(1, rows));
    k(Kernel.SOFT_TARGET_CE);
    t(z);
    t(t).i64(rows).i64(cols).f64(temp);
    out(dz).f64(gradScale).ptr(loss);
    rows(rows, cols);
    sumInto(loss, rows, scalars, slot);
  }

  @Override
  public void entropyRows(Tensor p, long rows, int cols, Tensor scalars, int slot) {
    long out = partials.get(8L * Math.max(1, rows));
    k(Kernel.ENTROPY_ROWS);
    t(p).i64(rows).i64(cols).ptr(out);
    rows(rows, cols);
    sumInto(out, rows, scalars, slot);
  }

  // ---- Sinkhorn-Knopp -----------------------------------------------------------------------------

  @Override
  public void columnMax(Tensor x, long problems, int samples, int cols, Tensor out) {
    columnReduce(x, problems, samples, cols, out, true);
  }

  private void columnReduce(Tensor x, long problems, long samples, long cols, Tensor out, boolean max) {
    k(Kernel.COLUMN_REDUCE);
    t(x).i64(problems).i64(samples).i64(cols);
    out(out).i32(max ? 1 : 0);
    elements(problems * cols);
  }

  @Override
  public void expShifted(Tensor x, Tensor shift, long problems, int samples, int cols, double scale, double offset, Tensor y,
      Tensor colsum) {
    k(Kernel.EXP_SHIFTED);
    t(x);
    t(shift).i64(problems).i64(samples).i64(cols).f64(scale).f64(offset);
    out(y);
    out(colsum);
    elements(problems * cols);
  }

  @Override
  public void sinkhornStep(Tensor x, Tensor colsum, long problems, int samples, int cols, double eps, Tensor nextColsum) {
    k(Kernel.SINKHORN_ROWS);
    out(x);
    t(colsum).i64(problems).i64(samples).i64(cols).f64(eps);
    rows(problems * samples, cols);
    if (nextColsum != null) columnReduce(x, problems, samples, cols, nextColsum, false);
  }

  // ---- optimisation -------------------------------------------------------------------------------

  @Override
  public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd, double beta1,
      double beta2, double eps, long t, Tensor teacher, double momentum) {
    long[] seg = segments.length == 0 ? new long[] {0} : segments;
    int nseg = seg.length - 1;
    long tlen = teacher == null ? 0 : teacher.length(), end = Math.max(seg[nseg], tlen);
    if (end == 0) return;
    // the table (8-byte slots): seg[0 .. nseg], lr[nseg], wd[nseg], β1, β2, eps, 1 − β1^t, sqrt(1 − β2^t), momentum
    int slots = 3 * nseg + 7;
    ByteBuffer h = staging(8 * slots);
    for (int i = 0; i <= nseg; i++) h.putLong(8 * i, seg[i]);
    for (int i = 0; i < nseg; i++) {
      h.putDouble(8 * (nseg + 1 + i), lr[i]);
      h.putDouble(8 * (2 * nseg + 1 + i), wd[i]);
    }
    double[] hyper = {beta1, beta2, eps, 1 - Math.pow(beta1, t), Math.sqrt(1 - Math.pow(beta2, t)), momentum};
    for (int i = 0; i < hyper.length; i++) h.putDouble(8 * (3 * nseg + 1 + i), hyper[i]);
    long tab = table.get(8L * slots);
    dev.upload(h, 0, tab, 8L * slots);
    k(Kernel.ADAMW);
    out(p);
    t(g);
    out(m);
    out(v);
    out(teacher).i64(tlen).ptr(tab).i32(nseg);
    elements(end);
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    for (DeviceTensor t : new ArrayList<>(live)) free(t);
    for (Scratch s : new Scratch[] {partials, table, converted, imageStats}) s.release();
    attention.close();
    for (ByteBuffer b : pinned) dev.freeHost(b);
    pinned.clear();
    dev.close();
  }
}
