package capi.engine;

/**
 * The primitives every layer is written with (ARCHITECTURE.md "Engine"). Matrices are row-major;
 * "rows × cols" arguments give their shape. Unless a method says it accumulates ("+="), it
 * overwrites its output. Exact semantics are pinned by the reference implementation in the tests
 * (capi.engine.ReferenceBackend), which every backend must match.
 */
public interface Backend extends AutoCloseable {
  Precision precision();

  /** A zero-filled tensor of {@code length} elements. */
  Tensor allocate(long length);

  /** Elements [offset, offset + length) of {@code t}, sharing its memory. */
  Tensor view(Tensor t, long offset, long length);

  /** Releases the memory of a tensor allocated here (not of a view). */
  void free(Tensor t);

  /** Bytes of the tensors allocated here and not yet freed. */
  long allocatedBytes();

  // ---- transfers to and from the host ----------------------------------------------------------
  void upload(double[] src, int srcOffset, Tensor dst, long dstOffset, int n);

  void upload(float[] src, int srcOffset, Tensor dst, long dstOffset, int n);

  void download(Tensor src, long srcOffset, double[] dst, int dstOffset, int n);

  void download(Tensor src, long srcOffset, float[] dst, int dstOffset, int n);

  /** dst[0, len) ← src as float32 (absolute positions; dst's position is ignored). */
  void download(Tensor src, java.nio.FloatBuffer dst);

  /** dst ← src[0, len) (absolute positions). */
  void upload(java.nio.FloatBuffer src, Tensor dst);

  // ---- element-wise and whole-buffer ------------------------------------------------------------
  void fill(Tensor t, double value);

  /** dst ← src (same length). */
  void copy(Tensor src, Tensor dst);

  /** y += a·x. */
  void axpy(double a, Tensor x, Tensor y);

  /** x ← a·x. */
  void scale(Tensor x, double a);

  /** Σ x², accumulated in float64. */
  double sumSquares(Tensor x);

  /** Order-sensitive checksum of the bit patterns (replicas holding the same values agree). */
  long checksum(Tensor x);

  // ---- matrix products ------------------------------------------------------------------------
  /**
   * For i in [0, batch): C_i ← alpha·op(A_i)·op(B_i) + beta·C_i, where X_i starts at
   * xOffset + i·strideX and has leading dimension ldX; op(A) is m×k, op(B) is k×n, C is m×n.
   */
  void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
      Tensor a, long aOffset, int lda, Tensor b, long bOffset, int ldb, double beta,
      Tensor c, long cOffset, int ldc, int batch, long strideA, long strideB, long strideC);

  // ---- rows ------------------------------------------------------------------------------------
  /** x[r, :] += v for every row r. */
  void addRowVector(Tensor x, int rows, int cols, Tensor v);

  /** out += Σ_r x[r, :]. */
  void sumRows(Tensor x, int rows, int cols, Tensor out);

  /** dst[i, :] ← src[index[i], :] for i in [0, index.length). */
  void gatherRows(Tensor src, int[] index, int cols, Tensor dst);

  /** dst[index[i], :] += alpha·src[i, :] for i in [0, index.length). */
  void scatterAddRows(Tensor src, int[] index, int cols, double alpha, Tensor dst);

  /**
   * dst (index.length, C·p·p) ← the patches of images (B, C, H, W) at flat indices b·N + n
   * (n row-major over the (H/p, W/p) grid), each flattened in (c, i, j) order like a conv weight.
   */
  void patchify(Tensor images, int channels, int height, int width, int patch, int[] index, Tensor dst);

  // ---- normalisations -----------------------------------------------------------------------------
  /** y = x·rstd·w with rstd = 1/sqrt(mean(x², row) + eps) per row (w null: no weight). */
  void rmsNorm(Tensor x, Tensor w, int rows, int cols, double eps, Tensor y, Tensor rstd);

  /** dx += ∂/∂x, dw += ∂/∂w (dw null when w is null) of Σ dy·y, given rmsNorm's rstd. */
  void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, int rows, int cols, Tensor dx, Tensor dw);

  /** y = x / max(‖x‖₂, eps) per row; norm[r] = ‖x_r‖₂. */
  void l2Normalize(Tensor x, int rows, int cols, double eps, Tensor y, Tensor norm);

  /** dx ← ∂/∂x of Σ dy·y for l2Normalize (y and norm from the forward). */
  void l2NormalizeBackward(Tensor y, Tensor norm, Tensor dy, int rows, int cols, double eps, Tensor dx);

  /** w = g ⊙ v / (‖v_r‖₂ + 1e-8) per row r (g is rows × 1); norms[r] = ‖v_r‖₂. */
  void weightNorm(Tensor v, Tensor g, int rows, int cols, Tensor w, Tensor norms);

  /** dv += ∂/∂v, dg += ∂/∂g of Σ dw·w for weightNorm. */
  void weightNormBackward(Tensor v, Tensor g, Tensor norms, Tensor dw, int rows, int cols, Tensor dv, Tensor dg);

  // ---- activations and attention ----------------------------------------------------------------
  /** y = x·Φ(x) = 0.5·x·(1 + erf(x/√2)), the exact GELU. */
  void gelu(Tensor x, Tensor y);

  /** dx ← dy·(Φ(x) + x·φ(x)). */
  void geluBackward(Tensor x, Tensor dy, Tensor dx);

  /**
   * RoPE tables for rows with coordinates coords (rows × 2) and frequencies freqs (2 × headDim):
   * angle[r, c] = coords[r, 0]·freqs[0, c] + coords[r, 1]·freqs[1, c]; cos, sin are rows × headDim.
   */
  void ropeTables(Tensor coords, Tensor freqs, int rows, int headDim, Tensor cos, Tensor sin);

  /**
   * In place on x (rows × heads·headDim), per head: x ← x·cos + rotate_half(x)·sin with
   * rotate_half([x1 | x2]) = [−x2 | x1] (the reference's pairing of channel c with c + headDim/2).
   * transpose = true applies the transposed map (the backward).
   */
  void rope(Tensor x, Tensor cos, Tensor sin, int rows, int heads, int headDim, boolean transpose);

  /** In place: each row ← softmax(row). */
  void softmaxRows(Tensor x, int rows, int cols);

  /** In place on dp: dp ← p ⊙ (dp − Σ_row p·dp), the softmax backward. */
  void softmaxRowsBackward(Tensor p, Tensor dp, int rows, int cols);

  // ---- losses -----------------------------------------------------------------------------------
  /**
   * Σ over rows of −Σ_k t_k·log softmax_k(z/temp) (a float64 sum). If dz is not null:
   * dz ← gradScale·(softmax(z/temp) − t)/temp.
   */
  double softTargetCrossEntropy(Tensor z, Tensor t, int rows, int cols, double temp, Tensor dz, double gradScale);

  /** Σ over rows of −Σ_k p_k·log p_k (0·log 0 = 0), a float64 sum. */
  double entropyRows(Tensor p, int rows, int cols);

  // ---- Sinkhorn-Knopp over (problems, samples, cols) --------------------------------------------
  /** out[p, k] ← max over samples of x[p, s, k]. */
  void columnMax(Tensor x, int problems, int samples, int cols, Tensor out);

  /** out[p, k] ← Σ over samples of x[p, s, k]. */
  void columnSum(Tensor x, int problems, int samples, int cols, Tensor out);

  /** x[p, s, k] ← exp(x[p, s, k] − shift[p, k] + offset). */
  void expShifted(Tensor x, Tensor shift, int problems, int samples, int cols, double offset);

  /**
   * One Sinkhorn iteration after the column sums: x[p, s, k] ← x[p, s, k] / (colsum[p, k] + eps)
   * (column step), then each row x[p, s, :] ← row / (Σ row + eps) (row step); if nextColsum is not
   * null it receives the column sums of the result (as {@link #columnSum}), for the next iteration.
   */
  void sinkhornStep(Tensor x, Tensor colsum, int problems, int samples, int cols, double eps, Tensor nextColsum);

  // ---- optimisation -----------------------------------------------------------------------------
  /**
   * PyTorch AdamW at step t (from 1) over segments [segments[i], segments[i+1]) with learning rate
   * lr[i] and weight decay wd[i]: p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
   * p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps).
   */
  void adamw(Tensor p, Tensor g, Tensor m, Tensor v, long[] segments, double[] lr, double[] wd,
      double beta1, double beta2, double eps, long t);

  /** teacher ← momentum·teacher + (1 − momentum)·student. */
  void ema(Tensor teacher, Tensor student, double momentum);

  @Override
  void close();
}
