package capi.cuda;

import capi.engine.Backend;
import capi.engine.Precision;
import capi.engine.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The engine's {@link Backend} with every tensor resident on a CUDA device: GEMMs through the
 * device's cuBLAS (float32, TF32 or bf16 inputs with float32 accumulation, float64), every other
 * primitive one or two launches of kernels.cu ({@link Kernel}). Works over any {@link Device}: the
 * GPU ({@link CudaDevice}) or its CPU emulation ({@link EmulatedDevice}, tests).
 *
 * <p>Results are deterministic: no kernel uses atomics, and every reduction (row sums, column
 * sums, losses, norms) adds in one fixed order. Scalars (sums of squares, losses) are read back
 * at once, which waits for the device.
 *
 * <p>Memory: tensors are allocated zeroed and freed deterministically; a few scratch buffers
 * (partial sums, uploaded index sets, the optimiser's segment table, bf16 copies of GEMM inputs)
 * grow to the largest size asked for and are then reused. {@link #allocatedBytes()} counts the
 * tensors, {@link #peakDeviceBytes()} everything this backend ever held at once.
 */
public final class CudaBackend implements Backend {
  /** Options of the float32 GEMMs: TF32 tensor cores, or bf16 copies of both inputs. */
  public record Options(boolean tf32, boolean bf16Gemm) {
    public static final Options EXACT = new Options(false, false);
  }

  private static final int THREADS = 256;
  private static final long CHECKSUM_CHUNK = 4096;

  private final Device dev;
  private final Precision precision;
  private final DType type;
  private final int es; // bytes per element
  private final GemmType gemmType;
  private final boolean bf16Gemm;
  private final int elementBlocks; // grid cap of element-wise kernels
  private final int rowBlocks; // grid cap of row kernels
  private final KernelArgs args = new KernelArgs();
  private final Scratch partials = new Scratch(), indexSet = new Scratch(), table = new Scratch();
  private final Scratch bf16A = new Scratch(), bf16B = new Scratch(), scalars = new Scratch();
  private ByteBuffer host = ByteBuffer.allocateDirect(1 << 16).order(ByteOrder.nativeOrder());
  private long[] seen = new long[0]; // bitmap for the distinct-index check of scatterAddRows
  private long live, held, peak;
  private long gemmFlops; // 2·m·n·k per product, since creation

  /** A window of device memory: [ptr, ptr + length·es); views share their parent's allocation. */
  static final class DeviceTensor implements Tensor {
    final long ptr;
    final long length;
    final boolean owner;

    DeviceTensor(long ptr, long length, boolean owner) {
      this.ptr = ptr;
      this.length = length;
      this.owner = owner;
    }

    @Override
    public long length() {
      return length;
    }
  }

  /** A device buffer that grows to the largest size asked for. */
  private final class Scratch {
    long ptr;
    long bytes;

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
    this.type = precision == Precision.FLOAT64 ? DType.F64 : DType.F32;
    this.es = type.bytes;
    this.bf16Gemm = precision == Precision.FLOAT32 && options.bf16Gemm();
    this.gemmType = precision == Precision.FLOAT64 ? GemmType.F64 : options.tf32() ? GemmType.TF32 : GemmType.F32;
    int sms = Math.max(1, device.multiprocessors());
    this.elementBlocks = 8 * sms;
    this.rowBlocks = 16 * sms;
  }

  /** The device underneath (its one line of description, host buffers). */
  public String describe() {
    return dev.describe() + ", " + precision + (bf16Gemm ? ", bf16 GEMM inputs" : gemmType == GemmType.TF32 ? ", TF32" : "");
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

  /** Page-locked host memory for staging (e.g. the gradient buffer on its way to the all-reduce). */
  public ByteBuffer allocHost(long bytes) {
    return dev.allocHost(bytes).order(ByteOrder.nativeOrder());
  }

  public void freeHost(ByteBuffer buffer) {
    dev.freeHost(buffer);
  }

  private void hold(long bytes) {
    held += bytes;
    peak = Math.max(peak, held);
  }

  private static DeviceTensor d(Tensor t) {
    return (DeviceTensor) t;
  }

  private long at(Tensor t, long offset) {
    return d(t).ptr + offset * es;
  }

  private long ptr(Tensor t) {
    return t == null ? 0 : d(t).ptr;
  }

  @Override
  public Precision precision() {
    return precision;
  }

  @Override
  public Tensor allocate(long length) {
    if (length < 0) throw new IllegalArgumentException("tensor of " + length + " elements");
    long bytes = Math.max(length, 1) * es;
    long p = dev.alloc(bytes);
    dev.memset(p, 0, bytes);
    live += bytes;
    hold(bytes);
    return new DeviceTensor(p, length, true);
  }

  @Override
  public Tensor view(Tensor t, long offset, long length) {
    DeviceTensor p = d(t);
    if (offset < 0 || length < 0 || offset + length > p.length) {
      throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + length) + ") of " + p.length);
    }
    return new DeviceTensor(p.ptr + offset * es, length, false);
  }

  @Override
  public void free(Tensor t) {
    if (t != null && d(t).owner) {
      long bytes = Math.max(d(t).length, 1) * es;
      dev.free(d(t).ptr);
      live -= bytes;
      held -= bytes;
    }
  }

  @Override
  public long allocatedBytes() {
    return live;
  }

  // ---- transfers ---------------------------------------------------------------------------------

  /** The host staging buffer, at least `bytes` long, cleared. */
  private ByteBuffer staging(long bytes) {
    if (bytes > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("transfer of " + bytes + " bytes at once");
    if (host.capacity() < bytes) host = ByteBuffer.allocateDirect((int) Math.max(bytes, 2L * host.capacity())).order(ByteOrder.nativeOrder());
    host.clear();
    return host;
  }

  private void checkRange(Tensor t, long offset, long n) {
    if (offset < 0 || n < 0 || offset + n > t.length()) {
      throw new IndexOutOfBoundsException("[" + offset + ", " + (offset + n) + ") of a tensor of " + t.length());
    }
  }

  @Override
  public void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    checkRange(dst, dstOffset, n);
    ByteBuffer h = staging((long) n * es);
    if (type == DType.F64) h.asDoubleBuffer().put(src, srcOffset, n);
    else for (int i = 0; i < n; i++) h.putFloat(4 * i, (float) src[srcOffset + i]);
    dev.upload(h, 0, at(dst, dstOffset), (long) n * es);
  }

  @Override
  public void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int n) {
    checkRange(dst, dstOffset, n);
    ByteBuffer h = staging((long) n * es);
    if (type == DType.F32) h.asFloatBuffer().put(src, srcOffset, n);
    else for (int i = 0; i < n; i++) h.putDouble(8 * i, src[srcOffset + i]);
    dev.upload(h, 0, at(dst, dstOffset), (long) n * es);
  }

  @Override
  public void download(Tensor src, long srcOffset, double[] dst, int dstOffset, int n) {
    ByteBuffer h = fetch(src, srcOffset, n);
    if (type == DType.F64) h.asDoubleBuffer().get(dst, dstOffset, n);
    else for (int i = 0; i < n; i++) dst[dstOffset + i] = h.getFloat(4 * i);
  }

  @Override
  public void download(Tensor src, long srcOffset, float[] dst, int dstOffset, int n) {
    ByteBuffer h = fetch(src, srcOffset, n);
    if (type == DType.F32) h.asFloatBuffer().get(dst, dstOffset, n);
    else for (int i = 0; i < n; i++) dst[dstOffset + i] = (float) h.getDouble(8 * i);
  }

  /** Elements [offset, offset + n) of src in the staging buffer, as stored. */
  private ByteBuffer fetch(Tensor src, long offset, int n) {
    checkRange(src, offset, n);
    ByteBuffer h = staging((long) n * es);
    dev.download(at(src, offset), h, 0, (long) n * es);
    return h;
  }

  @Override
  public void download(Tensor src, FloatBuffer dst) {
    int n = Math.toIntExact(src.length());
    ByteBuffer h = staging((long) n * es);
    dev.download(d(src).ptr, h, 0, (long) n * es);
    if (type == DType.F32) dst.put(0, h.asFloatBuffer(), 0, n);
    else for (int i = 0; i < n; i++) dst.put(i, (float) h.getDouble(8 * i));
  }

  @Override
  public void upload(FloatBuffer src, Tensor dst) {
    int n = Math.toIntExact(dst.length());
    ByteBuffer h = staging((long) n * es);
    if (type == DType.F32) h.asFloatBuffer().put(0, src, 0, n);
    else for (int i = 0; i < n; i++) h.putDouble(8 * i, src.get(i));
    dev.upload(h, 0, d(dst).ptr, (long) n * es);
  }

  /** Uploads an index set into the index scratch buffer; its device address. */
  private long indices(int[] index) {
    ByteBuffer h = staging(4L * index.length);
    h.asIntBuffer().put(index);
    long p = indexSet.get(4L * Math.max(1, index.length));
    dev.upload(h, 0, p, 4L * index.length);
    return p;
  }

  /** Reads the float64 at the start of a scratch buffer (waits for the device). */
  private double readDouble(long p) {
    ByteBuffer h = staging(8);
    dev.download(p, h, 0, 8);
    return h.getDouble(0);
  }

  // ---- launches ----------------------------------------------------------------------------------

  private KernelArgs k(Kernel kernel) {
    return args.of(kernel);
  }

  /** An element-wise launch over n items: 256 threads a block, at most elementBlocks blocks (grid-stride). */
  private void elements(long n) {
    launch(elementGrid(n), THREADS);
  }

  private int elementGrid(long n) {
    return (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, elementBlocks));
  }

  /** A block per row (rows stride over at most rowBlocks blocks); a block as wide as the row, up to 256. */
  private void rows(long rows, long cols) {
    int block = (int) Math.min(THREADS, Math.max(32, (cols + 31) / 32 * 32));
    launch((int) Math.max(1, Math.min(rows, rowBlocks)), block);
  }

  private void launch(int grid, int block) {
    launchAs(type, grid, block);
  }

  /** Launches the kernel of {@link #args} in its variant for storage type t. */
  private void launchAs(DType t, int grid, int block) {
    Kernel kernel = args.kernel();
    if (args.count() != kernel.arity) {
      throw new IllegalStateException(kernel.base + " launched with " + args.count() + " arguments, it takes " + kernel.arity);
    }
    dev.launch(kernel.name(t), grid, block, args);
  }

  // ---- element-wise ------------------------------------------------------------------------------

  @Override
  public void fill(Tensor t, double value) {
    if (value == 0 && Double.doubleToRawLongBits(value) == 0) {
      dev.memset(d(t).ptr, 0, t.length() * es);
      return;
    }
    k(Kernel.FILL).ptr(d(t).ptr).i64(t.length()).f64(value);
    elements(t.length());
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    if (src.length() != dst.length()) throw new IllegalArgumentException("copy of " + src.length() + " into " + dst.length());
    dev.copy(d(src).ptr, d(dst).ptr, src.length() * es);
  }

  @Override
  public void axpy(double a, Tensor x, Tensor y) {
    k(Kernel.AXPY).i64(x.length()).f64(a).ptr(d(x).ptr).ptr(d(y).ptr);
    elements(x.length());
  }

  @Override
  public void scale(Tensor x, double a) {
    k(Kernel.SCALE).i64(x.length()).f64(a).ptr(d(x).ptr);
    elements(x.length());
  }

  @Override
  public double sumSquares(Tensor x) {
    int grid = elementGrid(x.length());
    long part = partials.get(8L * grid);
    k(Kernel.SUM_SQUARES).ptr(d(x).ptr).i64(x.length()).ptr(part);
    launch(grid, THREADS);
    return sum(part, grid);
  }

  /** Σ of n float64 partials at p, in order, read back. */
  private double sum(long p, long n) {
    long out = scalars.get(8);
    k(Kernel.SUM).ptr(p).i64(n).ptr(out);
    launchAs(DType.F64, 1, THREADS);
    return readDouble(out);
  }

  @Override
  public long checksum(Tensor x) {
    long n = x.length(), chunks = (n + CHECKSUM_CHUNK - 1) / CHECKSUM_CHUNK;
    long part = partials.get(8 * Math.max(1, chunks));
    if (chunks > 0) {
      k(Kernel.CHECKSUM).ptr(d(x).ptr).i64(n).i64(CHECKSUM_CHUNK).ptr(part);
      elements(chunks);
    }
    ByteBuffer h = staging(8 * chunks);
    dev.download(part, h, 0, 8 * chunks);
    // h ← 31·h + bits over all elements = h·31^len + Σ bits·31^(len−1−i), chunk by chunk
    long hash = 1125899906842597L;
    for (long c = 0; c < chunks; c++) {
      long len = Math.min(CHECKSUM_CHUNK, n - c * CHECKSUM_CHUNK);
      hash = hash * pow31(len) + h.getLong((int) (8 * c));
    }
    return hash;
  }

  private static long pow31(long e) {
    long r = 1, b = 31;
    for (; e > 0; e >>= 1, b *= b) if ((e & 1) != 0) r *= b;
    return r;
  }

  @Override
  public void ema(Tensor teacher, Tensor student, double momentum) {
    k(Kernel.EMA).i64(teacher.length()).f64(momentum).ptr(d(teacher).ptr).ptr(d(student).ptr);
    elements(teacher.length());
  }

  // ---- matrix products -------------------------------------------------------------------------------

  @Override
  public void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Tensor a, long aOffset, int lda,
      Tensor b, long bOffset, int ldb, double beta, Tensor c, long cOffset, int ldc, int batch, long strideA,
      long strideB, long strideC) {
    // Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ over the same memory.
    gemmFlops += 2L * m * n * k * batch;
    long pa = at(a, aOffset), pb = at(b, bOffset), pc = at(c, cOffset);
    GemmType g = gemmType;
    if (bf16Gemm) {
      pa = toBf16(pa, span(transA, m, k, lda, batch, strideA), bf16A);
      pb = toBf16(pb, span(transB, k, n, ldb, batch, strideB), bf16B);
      g = GemmType.BF16;
    }
    dev.gemm(g, transB, transA, n, m, k, alpha, pb, ldb, strideB, pa, lda, strideA, beta, pc, ldc, strideC, batch);
  }

  /** Elements spanned by a batch of row-major op(X) (rows × cols) with leading dimension ld. */
  private static long span(boolean trans, int rows, int cols, int ld, int batch, long stride) {
    long storedRows = trans ? cols : rows, storedCols = trans ? rows : cols;
    return (batch - 1) * stride + (storedRows - 1) * ld + storedCols;
  }

  /** A bf16 copy of n float32 elements at p (into `into`); its address. */
  private long toBf16(long p, long n, Scratch into) {
    long q = into.get(2 * n);
    k(Kernel.CONVERT_F32_BF16).ptr(p).ptr(q).i64(n);
    launchAs(DType.F32, elementGrid(n), THREADS);
    return q;
  }

  // ---- rows --------------------------------------------------------------------------------------

  @Override
  public void addRowVector(Tensor x, int rows, int cols, Tensor v) {
    k(Kernel.ADD_ROW_VECTOR).ptr(d(x).ptr).i64(rows).i64(cols).ptr(d(v).ptr);
    elements((long) rows * cols);
  }

  @Override
  public void sumRows(Tensor x, int rows, int cols, Tensor out) {
    long perChunk = rowsPerChunk(rows, cols), chunks = (rows + perChunk - 1) / perChunk;
    long part = partials.get(chunks * cols * es);
    k(Kernel.SUM_ROWS_PARTIAL).ptr(d(x).ptr).i64(rows).i64(cols).i64(perChunk).ptr(part);
    elements(chunks * cols);
    addPartials(part, chunks, cols, d(out).ptr);
  }

  /** Rows per chunk of a column reduction: enough chunks × columns to fill the device, at least 32 rows each. */
  private long rowsPerChunk(long rows, long cols) {
    long threads = (long) elementBlocks * THREADS, chunks = Math.max(1, Math.min(threads / Math.max(1, cols), (rows + 31) / 32));
    return Math.max(1, (rows + chunks - 1) / chunks);
  }

  private void addPartials(long part, long chunks, long cols, long out) {
    k(Kernel.ADD_PARTIALS).ptr(part).i64(chunks).i64(cols).ptr(out);
    elements(cols);
  }

  @Override
  public void gatherRows(Tensor src, int[] index, int cols, Tensor dst) {
    if (index.length == 0) return;
    long idx = indices(index);
    k(Kernel.GATHER_ROWS).ptr(d(src).ptr).ptr(idx).i64(index.length).i64(cols).ptr(d(dst).ptr);
    elements((long) index.length * cols);
  }

  @Override
  public void scatterAddRows(Tensor src, int[] index, int cols, double alpha, Tensor dst) {
    if (index.length == 0) return;
    boolean distinct = distinct(index);
    long idx = indices(index);
    k(distinct ? Kernel.SCATTER_ADD_ROWS : Kernel.SCATTER_ADD_ROWS_SERIAL).ptr(d(src).ptr).ptr(idx).i64(index.length)
        .i64(cols).f64(alpha).ptr(d(dst).ptr);
    elements(distinct ? (long) index.length * cols : cols);
  }

  /** Whether no index repeats (then every row of the scatter can be added at once). */
  private boolean distinct(int[] index) {
    int max = 0;
    for (int i : index) max = Math.max(max, i);
    int words = (max >> 6) + 1;
    if (seen.length < words) seen = new long[words];
    boolean distinct = true;
    for (int i : index) {
      long bit = 1L << (i & 63);
      if ((seen[i >> 6] & bit) != 0) distinct = false;
      seen[i >> 6] |= bit;
    }
    for (int i : index) seen[i >> 6] = 0;
    return distinct;
  }

  @Override
  public void patchify(Tensor images, int channels, int height, int width, int patch, int[] index, Tensor dst) {
    if (index.length == 0) return;
    long idx = indices(index);
    k(Kernel.PATCHIFY).ptr(d(images).ptr).i32(channels).i32(height).i32(width).i32(patch).ptr(idx).i64(index.length)
        .ptr(d(dst).ptr);
    elements((long) index.length * channels * patch * patch);
  }

  // ---- normalisations ----------------------------------------------------------------------------

  @Override
  public void rmsNorm(Tensor x, Tensor w, int rows, int cols, double eps, Tensor y, Tensor rstd) {
    k(Kernel.RMS_NORM).ptr(d(x).ptr).ptr(ptr(w)).i64(rows).i64(cols).f64(eps).ptr(d(y).ptr).ptr(d(rstd).ptr);
    rows(rows, cols);
  }

  @Override
  public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, int rows, int cols, Tensor dx, Tensor dw) {
    k(Kernel.RMS_NORM_BACKWARD).ptr(d(x).ptr).ptr(ptr(w)).ptr(d(rstd).ptr).ptr(d(dy).ptr).i64(rows).i64(cols).ptr(d(dx).ptr);
    rows(rows, cols);
    if (w != null && dw != null) {
      long perChunk = rowsPerChunk(rows, cols), chunks = (rows + perChunk - 1) / perChunk;
      long part = partials.get(chunks * cols * es);
      k(Kernel.RMS_NORM_DW_PARTIAL).ptr(d(x).ptr).ptr(d(rstd).ptr).ptr(d(dy).ptr).i64(rows).i64(cols).i64(perChunk).ptr(part);
      elements(chunks * cols);
      addPartials(part, chunks, cols, d(dw).ptr);
    }
  }

  @Override
  public void l2Normalize(Tensor x, int rows, int cols, double eps, Tensor y, Tensor norm) {
    k(Kernel.L2_NORMALIZE).ptr(d(x).ptr).i64(rows).i64(cols).f64(eps).ptr(d(y).ptr).ptr(d(norm).ptr);
    rows(rows, cols);
  }

  @Override
  public void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, int rows, int cols, double eps, Tensor dx) {
    k(Kernel.L2_NORMALIZE_BACKWARD).ptr(d(y).ptr).ptr(d(norm).ptr).ptr(d(dy).ptr).i64(rows).i64(cols).f64(eps).ptr(d(dx).ptr);
    rows(rows, cols);
  }

  @Override
  public void weightNorm(Tensor v, Tensor g, int rows, int cols, Tensor w, Tensor norms) {
    k(Kernel.WEIGHT_NORM).ptr(d(v).ptr).ptr(d(g).ptr).i64(rows).i64(cols).ptr(d(w).ptr).ptr(d(norms).ptr);
    rows(rows, cols);
  }

  @Override
  public void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, int rows, int cols, Tensor dv, Tensor dg) {
    k(Kernel.WEIGHT_NORM_BACKWARD).ptr(d(v).ptr).ptr(d(g).ptr).ptr(d(norms).ptr).ptr(d(dw).ptr).i64(rows).i64(cols)
        .ptr(d(dv).ptr).ptr(d(dg).ptr);
    rows(rows, cols);
  }

  // ---- activations and attention -----------------------------------------------------------------

  @Override
  public void gelu(Tensor x, Tensor y) {
    k(Kernel.GELU).ptr(d(x).ptr).ptr(d(y).ptr).i64(x.length());
    elements(x.length());
  }

  @Override
  public void geluBackward(Tensor x, Tensor dy, Tensor dx) {
    k(Kernel.GELU_BACKWARD).ptr(d(x).ptr).ptr(d(dy).ptr).ptr(d(dx).ptr).i64(x.length());
    elements(x.length());
  }

  @Override
  public void ropeTables(Tensor coords, Tensor freqs, int rows, int headDim, Tensor cos, Tensor sin) {
    k(Kernel.ROPE_TABLES).ptr(d(coords).ptr).ptr(d(freqs).ptr).i64(rows).i32(headDim).ptr(d(cos).ptr).ptr(d(sin).ptr);
    elements((long) rows * headDim);
  }

  @Override
  public void rope(Tensor x, Tensor cos, Tensor sin, int rows, int heads, int headDim, boolean transpose) {
    k(Kernel.ROPE).ptr(d(x).ptr).ptr(d(cos).ptr).ptr(d(sin).ptr).i64(rows).i32(heads).i32(headDim).i32(transpose ? 1 : 0);
    elements((long) rows * heads * (headDim / 2));
  }

  @Override
  public void softmaxRows(Tensor x, int rows, int cols) {
    k(Kernel.SOFTMAX_ROWS).ptr(d(x).ptr).i64(rows).i64(cols);
    rows(rows, cols);
  }

  @Override
  public void softmaxRowsBackward(Tensor p, Tensor dp, int rows, int cols) {
    k(Kernel.SOFTMAX_ROWS_BACKWARD).ptr(d(p).ptr).ptr(d(dp).ptr).i64(rows).i64(cols);
    rows(rows, cols);
  }

  // ---- losses ------------------------------------------------------------------------------------

  @Override
  public double softTargetCrossEntropy(Tensor z, Tensor t, int rows, int cols, double temp, Tensor dz, double gradScale) {
    long loss = partials.get(8L * Math.max(1, rows));
    k(Kernel.SOFT_TARGET_CE).ptr(d(z).ptr).ptr(d(t).ptr).i64(rows).i64(cols).f64(temp).ptr(ptr(dz)).f64(gradScale).ptr(loss);
    rows(rows, cols);
    return sum(loss, rows);
  }

  @Override
  public double entropyRows(Tensor p, int rows, int cols) {
    long out = partials.get(8L * Math.max(1, rows));
    k(Kernel.ENTROPY_ROWS).ptr(d(p).ptr).i64(rows).i64(cols).ptr(out);
    rows(rows, cols);
    return sum(out, rows);
  }

  // ---- Sinkhorn-Knopp ----------------------------------------------------------------------------

  @Override
  public void columnMax(Tensor x, int problems, int samples, int cols, Tensor out) {
    columnReduce(x, problems, samples, cols, out, true);
  }

  @Override
  public void columnSum(Tensor x, int problems, int samples, int cols, Tensor out) {
    columnReduce(x, problems, samples, cols, out, false);
  }

  private void columnReduce(Tensor x, long problems, long samples, long cols, Tensor out, boolean max) {
    k(Kernel.COLUMN_REDUCE).ptr(d(x).ptr).i64(problems).i64(samples).i64(cols).ptr(d(out).ptr).i32(max ? 1 : 0);
    elements(problems * cols);
  }

  @Override
  public void expShifted(Tensor x, Tensor shift, int problems, int samples, int cols, double offset) {
    k(Kernel.EXP_SHIFTED).ptr(d(x).ptr).ptr(d(shift).ptr).i64(problems).i64(samples).i64(cols).f64(offset);
    elements((long) problems * samples * cols);
  }

  @Override
  public void sinkhornStep(Tensor x, Tensor colsum, int problems, int samples, int cols, double eps, Tensor nextColsum) {
    k(Kernel.SINKHORN_ROWS).ptr(d(x).ptr).ptr(d(colsum).ptr).i64(problems).i64(samples).i64(cols).f64(eps);
    rows((long) problems * samples, cols);
    if (nextColsum != null) columnReduce(x, problems, samples, cols, nextColsum, false);
  }

  // ---- optimisation ------------------------------------------------------------------------------

  @Override
  public void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd, double beta1,
      double beta2, double eps, long t) {
    int nseg = segments.length - 1;
    if (nseg < 1) return;
    // the segment table: segments (nseg + 1 longs), lr (nseg doubles), wd (nseg doubles)
    long bytes = 8L * (3 * nseg + 1);
    ByteBuffer h = staging(bytes);
    for (int i = 0; i <= nseg; i++) h.putLong(8 * i, segments[i]);
    for (int i = 0; i < nseg; i++) {
      h.putDouble(8 * (nseg + 1 + i), lr[i]);
      h.putDouble(8 * (2 * nseg + 1 + i), wd[i]);
    }
    long tab = table.get(bytes);
    dev.upload(h, 0, tab, bytes);
    double bc1 = 1 - Math.pow(beta1, t), bc2sqrt = Math.sqrt(1 - Math.pow(beta2, t));
    k(Kernel.ADAMW).ptr(d(p).ptr).ptr(d(g).ptr).ptr(d(m).ptr).ptr(d(v).ptr).ptr(tab).ptr(tab + 8L * (nseg + 1))
        .ptr(tab + 8L * (2 * nseg + 1)).i32(nseg).f64(beta1).f64(beta2).f64(eps).f64(bc1).f64(bc2sqrt);
    elements(segments[nseg] - segments[0]);
  }

  @Override
  public void close() {
    for (Scratch s : new Scratch[] {partials, indexSet, table, bf16A, bf16B, scalars}) s.release();
    dev.close();
  }
}
