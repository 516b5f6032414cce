package capi.engine;

import java.nio.ByteBuffer;

/**
 * The primitives every layer is written with (ARCHITECTURE.md "Engine"); docs/ENGINE.md maps who
 * calls what. The test class {@code capi.engine.ReferenceBackend} is the executable definition of
 * every method (plain float64 loops) and {@code BackendConformance} checks a backend against it.
 *
 * <h2>Conventions</h2>
 *
 * <ul>
 *   <li>Matrices are row-major; "rows × cols" arguments give their shape. A tensor argument holds
 *       exactly the elements the shape says unless a leading dimension (ld) is given; pass a
 *       {@link #view} to start inside a buffer.
 *   <li>Every element count, offset and stride is a {@code long}; shape products never overflow
 *       (N·B·K of ViT-L at batch 512 is 2³¹). {@code int} is used for single dimensions only.
 *   <li>Outputs are overwritten unless the method says it accumulates ("+=").
 *   <li><b>Dtypes.</b> Float arguments may be any float dtype (F32, F64, BF16) unless a method
 *       says otherwise; arithmetic is in float32, or float64 when the backend's precision is
 *       float64, and results are rounded to the output's dtype (BF16: nearest, ties to even).
 *       Index arguments are I32 tensors whose values are row numbers; images arrive as U8.
 *       Which dtype each tensor of the model has is decided by the layers from {@link
 *       #precision()} ({@link Precision#master()}, {@link Precision#compute()}).
 *   <li><b>Host traffic.</b> A training step uploads its inputs once (images as U8, every index
 *       set in one I32 transfer) and reads its scalars once at the end; reductions write into
 *       slots of a small F64 "scalars" tensor instead of returning values. The only other
 *       traffic is what crosses workers ({@link #stage}/{@link #unstage} through {@link
 *       #hostBuffer}).
 * </ul>
 */
public interface Backend extends AutoCloseable {
  /** The provider name ("cpu", "cuda", ...). */
  String name();

  Precision precision();

  /** One line for logs: the device, its threads or memory. */
  String describe();

  // ---- memory -------------------------------------------------------------------------------------

  /** A zero-filled tensor of {@code length} elements of {@code dtype}. */
  Tensor allocate(DType dtype, long length);

  /** Elements [offset, offset + length) of {@code t}, sharing its memory and dtype. */
  Tensor view(Tensor t, long offset, long length);

  /** Releases the memory of a tensor allocated here (not of a view). */
  void free(Tensor t);

  /** Bytes of the tensors allocated here and not yet freed. */
  long allocatedBytes();

  /**
   * A direct ByteBuffer in native order of at least {@code bytes} bytes for {@link #stage} and
   * {@link #unstage} (page-locked host memory on a GPU), owned by this backend until {@link #close}.
   */
  ByteBuffer hostBuffer(long bytes);

  // ---- transfers between the host and the backend -------------------------------------------------

  /** dst[dstOffset + i] ← src[srcOffset + i] for i in [0, count), rounded to dst's float dtype. */
  void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int count);

  /** As {@link #upload(double[], int, Tensor, long, int)} from float32 values. */
  void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int count);

  /** Into an I32 tensor. */
  void upload(int[] src, int srcOffset, Tensor dst, long dstOffset, int count);

  /** Into a U8 tensor (bytes read as unsigned 0..255). */
  void upload(byte[] src, int srcOffset, Tensor dst, long dstOffset, int count);

  /** dst[dstOffset + i] ← src[srcOffset + i] for i in [0, count), from any dtype. */
  void download(Tensor src, long srcOffset, double[] dst, int dstOffset, int count);

  /** As {@link #download(Tensor, long, double[], int, int)}, rounded to float32. */
  void download(Tensor src, long srcOffset, float[] dst, int dstOffset, int count);

  /** From an I32 tensor. */
  void download(Tensor src, long srcOffset, int[] dst, int dstOffset, int count);

  /** float32 values of src, all of it, into dst at absolute byte positions [0, 4·length) (native order). */
  void stage(Tensor src, ByteBuffer dst);

  /** The inverse of {@link #stage}: dst (all of it) ← float32 values at dst's absolute positions from 0. */
  void unstage(ByteBuffer src, Tensor dst);

  // ---- element-wise and whole-buffer ----------------------------------------------------------------

  void fill(Tensor t, double value);

  /** dst ← src (same length), converted to dst's dtype: the way a weight gets its compute copy. */
  void copy(Tensor src, Tensor dst);

  /** y += a·x (same length). */
  void axpy(double a, Tensor x, Tensor y);

  /** x ← a·x. */
  void scale(Tensor x, double a);

  /** scalars[slot] ← Σ x² (accumulated in float64; scalars is F64). */
  void sumSquares(Tensor x, Tensor scalars, int slot);

  /**
   * Order-sensitive checksum of the bit patterns (replicas holding the same values agree). Reads
   * the tensor back: for checks between steps, never inside one.
   */
  long checksum(Tensor x);

  // ---- matrix products ------------------------------------------------------------------------------

  /**
   * For i in [0, batch): C_i ← alpha·op(A_i)·op(B_i) + beta·C_i, where X_i starts at
   * xOffset + i·strideX with leading dimension ldX; op(A) is m×k, op(B) is k×n, C is m×n. A and B
   * have one dtype; C has it too, or F32 when A and B are BF16. Accumulation is in float32
   * (float64 for F64). beta = 0 ignores C's previous contents (even NaN).
   */
  void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
      Tensor a, long aOffset, int lda, Tensor b, long bOffset, int ldb, double beta,
      Tensor c, long cOffset, int ldc, int batch, long strideA, long strideB, long strideC);

  // ---- rows -----------------------------------------------------------------------------------------

  /** x[r, :] += v for every row r of x (rows × cols); v has cols elements. */
  void addRowVector(Tensor x, long rows, int cols, Tensor v);

  /** out += Σ_r x[r, :] (x rows × cols, out cols). */
  void sumRows(Tensor x, long rows, int cols, Tensor out);

  /** dst[i, :] ← src[index[i], :] for i in [0, index.length) (rows of cols elements). */
  void gatherRows(Tensor src, Tensor index, int cols, Tensor dst);

  /** dst[index[i], :] += alpha·src[i, :] for i in [0, index.length); repeated indices accumulate. */
  void scatterAddRows(Tensor src, Tensor index, int cols, double alpha, Tensor dst);

  /**
   * dst (index.length, C·p·p) ← the patches of images (B, C, H, W) at flat indices b·N + n
   * (n row-major over the (H/p, W/p) grid), each flattened in (c, i, j) order like a conv weight.
   */
  void patchify(Tensor images, int channels, int height, int width, int patch, Tensor index, Tensor dst);

  /**
   * dst (B, C, plane) ← (pixels/255 − mean[c]) / std[c] for U8 pixels (B, C, plane) with
   * B = pixels.length / (C·plane): ToTensor then Normalize.
   */
  void normalizeImages(Tensor pixels, int channels, long plane, double[] mean, double[] std, Tensor dst);

  /**
   * RoPE coordinates (batch, registers + T, 2) of tokens: per sample its registers, then the
   * patches patchIndex[b·T + t] (flat b·N + n indices, T = patchIndex.length / batch). A patch n
   * sits at (row, col) = (linspace(n / gridW, gridH), linspace(n % gridW, gridW)) with
   * linspace(i, m) = i/(m − 1) (0 when m = 1). Register i of R (R/4 per side, c = j/(R/4) for the
   * j-th of its side) starts on the unit square's edges — (c, 0), (1, c), (1 − c, 1), (0, 1 − c) —
   * and is mapped into the bounding box of its sample's patches: (minY + y·(maxY − minY),
   * minX + x·(maxX − minX)). Written in coords' dtype (the reference's get_edge_coordinates).
   */
  void tokenCoordinates(Tensor patchIndex, int batch, int registers, int gridH, int gridW, Tensor coords);

  // ---- normalisations -------------------------------------------------------------------------------

  /** y = x·rstd·w with rstd[r] = 1/sqrt(mean(x[r]²) + eps); w null: no weight. x, y rows × cols. */
  void rmsNorm(Tensor x, Tensor w, long rows, int cols, double eps, Tensor y, Tensor rstd);

  /** dx += ∂/∂x, dw += ∂/∂w (dw null when w is null) of Σ dy·y, given rmsNorm's rstd. */
  void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, long rows, int cols, Tensor dx, Tensor dw);

  /** y = x / max(‖x_r‖₂, eps) per row r; norm[r] = ‖x_r‖₂. */
  void l2Normalize(Tensor x, long rows, int cols, double eps, Tensor y, Tensor norm);

  /** dx ← ∂/∂x of Σ dy·y for l2Normalize (y and norm from the forward). */
  void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, long rows, int cols, double eps, Tensor dx);

  /** w = g ⊙ v / (‖v_r‖₂ + 1e-8) per row r (g is rows × 1); norms[r] = ‖v_r‖₂. */
  void weightNorm(Tensor v, Tensor g, long rows, int cols, Tensor w, Tensor norms);

  /** dv += ∂/∂v, dg += ∂/∂g of Σ dw·w for weightNorm. */
  void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, long rows, int cols, Tensor dv, Tensor dg);

  // ---- activations ----------------------------------------------------------------------------------

  /** y = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), the exact GELU. */
  void gelu(Tensor x, Tensor y);

  /** dx ← dy·(Φ(x) + x·φ(x)) (dx may be dy). */
  void geluBackward(Tensor x, Tensor dy, Tensor dx);

  // ---- rotary position embedding --------------------------------------------------------------------

  /**
   * RoPE tables for rows with coordinates coords (rows × 2) and frequencies freqs (2 × headDim):
   * angle[r, c] = coords[r, 0]·freqs[0, c] + coords[r, 1]·freqs[1, c]; cos, sin are rows × headDim.
   */
  void ropeTables(Tensor coords, Tensor freqs, long rows, int headDim, Tensor cos, Tensor sin);

  /**
   * In place on rows r in [0, rows) of x (row r starts at r·ld; heads of headDim at columns
   * h·headDim), with the tables' row r % tableRows (a table of one sample's tokens serves a whole
   * batch): x ← x·cos + rotate_half(x)·sin per head, rotate_half([x1 | x2]) = [−x2 | x1] (the
   * reference's pairing of channel c with c + headDim/2, whatever the angles). transpose = true
   * applies the transposed map (the backward).
   */
  void rope(Tensor x, int ld, long rows, int heads, int headDim, Tensor cos, Tensor sin, long tableRows,
      boolean transpose);

  // ---- attention ------------------------------------------------------------------------------------

  /** Elements of the master dtype {@link #attention} stashes for its backward (backend-private). */
  long attentionStashLength(int batch, int heads, int nq, int nk);

  /**
   * Multi-head attention, per sample b and head h: S = scale·Q_bh·K_bhᵀ (nq × nk),
   * P = softmax over each row of S, O_bh = P·V_bh (nq × headDim) into out (batch·nq, heads·headDim),
   * head h in its columns. q, k, v are laid out as {@link AttentionShape} says. stash
   * ({@link #attentionStashLength} elements, master dtype) receives what the backward needs, or is
   * null when no backward follows.
   */
  void attention(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor stash);

  /**
   * Given dOut (like out), dq, dk, dv ← ∂/∂q, ∂/∂k, ∂/∂v of Σ dOut·out (overwritten, laid out
   * like q, k and v with the same row strides), from the forward's q, k, v, out and stash.
   */
  void attentionBackward(AttentionShape s, Tensor q, Tensor k, Tensor v, Tensor out, Tensor stash, Tensor dOut,
      Tensor dq, Tensor dk, Tensor dv);

  // ---- losses ---------------------------------------------------------------------------------------

  /**
   * scalars[slot] ← Σ over rows of −Σ_k t_k·log softmax_k(z/temp) (a float64 sum; z, t rows × cols).
   * If dz is not null: dz ← gradScale·(softmax(z/temp) − t)/temp.
   */
  void softTargetCrossEntropy(Tensor z, Tensor t, long rows, int cols, double temp, Tensor dz, double gradScale,
      Tensor scalars, int slot);

  /** scalars[slot] ← Σ over rows of −Σ_k p_k·log p_k (0·log 0 = 0), a float64 sum. */
  void entropyRows(Tensor p, long rows, int cols, Tensor scalars, int slot);

  // ---- Sinkhorn-Knopp over (problems, samples, cols) ------------------------------------------------

  /** out[p, k] ← max over samples of x[p, s, k]. */
  void columnMax(Tensor x, long problems, int samples, int cols, Tensor out);

  /**
   * y[p, s, k] ← exp(scale·(x[p, s, k] − shift[p, k]) + offset) and colsum[p, k] ← Σ_s y[p, s, k]
   * (y may be x).
   */
  void expShifted(Tensor x, Tensor shift, long problems, int samples, int cols, double scale, double offset, Tensor y,
      Tensor colsum);

  /**
   * One Sinkhorn iteration after the column sums: x[p, s, k] ← x[p, s, k] / (colsum[p, k] + eps)
   * (column step), then each row x[p, s, :] ← row / (Σ row + eps) (row step); if nextColsum is not
   * null it receives the column sums of the result, for the next iteration.
   */
  void sinkhornStep(Tensor x, Tensor colsum, long problems, int samples, int cols, double eps, Tensor nextColsum);

  // ---- optimisation ---------------------------------------------------------------------------------

  /**
   * PyTorch AdamW at step t (from 1) over segments [segments[i], segments[i+1]) of p with learning
   * rate lr[i] and weight decay wd[i], elements outside every segment untouched:
   * p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
   * p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps).
   * Then, if teacher is not null, the EMA of the updated values over its length:
   * teacher[i] ← momentum·teacher[i] + (1 − momentum)·p[i] for i in [0, teacher.length), computed
   * as p[i] + momentum·(teacher[i] − p[i]) so that equal values stay exactly equal (a frozen
   * parameter's teacher copy never drifts by rounding). Every element is independent, so one pass
   * equals the reference's student AdamW, EMA, clustering AdamW in sequence.
   */
  void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd,
      double beta1, double beta2, double eps, long t, Tensor teacher, double momentum);

  @Override
  void close();
}
