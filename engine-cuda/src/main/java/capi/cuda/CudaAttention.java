package capi.cuda;

import capi.engine.AttentionShape;
import capi.engine.DType;
import capi.engine.Precision;

/**
 * Multi-head attention of the CUDA backend: per head h, strided-batched products over the samples
 * (cuBLAS) around two fused row kernels. The scores and probabilities are (B, H, nq, nk) in the
 * master dtype, as the stash holds them:
 *
 * <pre>
 *   forward   S_h = scale·Q_h·K_hᵀ   (into the stash)          P = softmax_rows(S) in place (+ a compute-dtype copy)
 *             O_h = P_h·V_h           (into out, head h's columns)
 *   backward  dP_h = dO_h·V_hᵀ        dS = scale·P ⊙ (dP − rowsum(P ⊙ dP))   (fused, compute dtype)
 *             dQ_h = dS_h·K_h         dK_h = dS_hᵀ·Q_h          dV_h = P_hᵀ·dO_h
 * </pre>
 *
 * Under bf16-mixed (q, k, v BF16) the products take bf16 inputs and accumulate in float32: S and
 * dP are float32, the softmax and its backward run in float32, and the products with P or dS read
 * bf16 copies. The stash is backend-private: P (master dtype), then from a 256-byte boundary its
 * compute-dtype copy when that differs. Q_h of sample b starts at b·nq·ldq + h·headDim, so each
 * head's product is one strided batch over the samples (H calls per product).
 */
final class CudaAttention {
  private static final long ALIGN = 256;
  private final CudaBackend be;
  private final Precision precision;
  private final DType master;
  private final CudaBackend.Scratch probs, grads, dScores;

  CudaAttention(CudaBackend be) {
    this.be = be;
    this.precision = be.precision();
    this.master = precision.master();
    this.probs = be.new Scratch();
    this.grads = be.new Scratch();
    this.dScores = be.new Scratch();
  }

  private static long cells(int batch, int heads, int nq, int nk) {
    return (long) batch * heads * nq * nk;
  }

  /** Where the compute copy of P starts, in bytes from the stash (after P, aligned). */
  private long copyOffset(long cells) {
    return (cells * master.bytes() + ALIGN - 1) / ALIGN * ALIGN;
  }

  private long stashBytes(long cells) {
    DType compute = precision.compute();
    return compute == master ? cells * master.bytes() : copyOffset(cells) + cells * compute.bytes();
  }

  long stashLength(int batch, int heads, int nq, int nk) {
    return (stashBytes(cells(batch, heads, nq, nk)) + master.bytes() - 1) / master.bytes();
  }

  private static void sameType(DeviceTensor first, DeviceTensor... rest) {
    for (DeviceTensor t : rest) {
      if (t.dtype != first.dtype) throw new IllegalArgumentException("cuda backend: attention of " + first.dtype + " and " + t.dtype);
    }
  }

  void forward(AttentionShape s, DeviceTensor q, DeviceTensor k, DeviceTensor v, DeviceTensor out, DeviceTensor stash) {
    sameType(q, k, v);
    int b = s.batch(), h = s.heads(), nq = s.nq(), nk = s.nk(), d = s.headDim();
    long cells = cells(b, h, nq, nk), rows = (long) b * h * nq, headCells = (long) nq * nk;
    long p;
    if (stash != null) {
      if (stash.dtype != master || stash.length < stashLength(b, h, nq, nk)) {
        throw new IllegalArgumentException("cuda backend: an attention stash of " + stash.length + " " + stash.dtype
            + " elements, needs " + stashLength(b, h, nq, nk) + " " + master);
      }
      p = stash.ptr;
    } else {
      p = probs.get(stashBytes(cells));
    }
    boolean copied = v.dtype != master; // the products with P read a copy in v's dtype
    long pv = copied ? p + copyOffset(cells) : p;
    DType pvType = copied ? v.dtype : master;
    GemmType scores = be.gemmType(q.dtype, k.dtype, master);
    for (int i = 0; i < h; i++) {
      be.gemm(scores, false, true, nq, nk, d, s.scale(), q.at((long) i * d), s.ldq(), (long) nq * s.ldq(), k.at((long) i * d),
          s.ldkv(), (long) nk * s.ldkv(), 0, p + i * headCells * master.bytes(), nk, h * headCells, b);
    }
    be.k(Kernel.SOFTMAX_ROWS).tensor(p, master).i64(rows).i64(nk).tensor(copied ? pv : 0, pvType);
    be.rows(rows, nk);
    GemmType mix = be.gemmType(pvType, v.dtype, out.dtype);
    for (int i = 0; i < h; i++) {
      be.gemm(mix, false, false, nq, d, nk, 1, pv + i * headCells * pvType.bytes(), nk, h * headCells, v.at((long) i * d),
          s.ldkv(), (long) nk * s.ldkv(), 0, out.at((long) i * d), s.width(), (long) nq * s.width(), b);
    }
  }

  void backward(AttentionShape s, DeviceTensor q, DeviceTensor k, DeviceTensor v, DeviceTensor stash, DeviceTensor dOut,
      DeviceTensor dq, DeviceTensor dk, DeviceTensor dv) {
    sameType(q, k, v, dOut);
    int b = s.batch(), h = s.heads(), nq = s.nq(), nk = s.nk(), d = s.headDim();
    long cells = cells(b, h, nq, nk), rows = (long) b * h * nq, headCells = (long) nq * nk;
    if (stash == null || stash.length < stashLength(b, h, nq, nk)) {
      throw new IllegalArgumentException("cuda backend: attentionBackward needs the forward's stash");
    }
    long p = stash.ptr;
    boolean copied = v.dtype != master;
    long pv = copied ? p + copyOffset(cells) : p;
    DType pvType = copied ? v.dtype : master;
    // dP (master), then dS in q's dtype: in place when that is the master dtype
    long dP = grads.get(cells * master.bytes());
    long dS = q.dtype == master ? dP : dScores.get(cells * q.dtype.bytes());
    GemmType scores = be.gemmType(dOut.dtype, v.dtype, master);
    for (int i = 0; i < h; i++) {
      be.gemm(scores, false, true, nq, nk, d, 1, dOut.at((long) i * d), s.width(), (long) nq * s.width(), v.at((long) i * d),
          s.ldkv(), (long) nk * s.ldkv(), 0, dP + i * headCells * master.bytes(), nk, h * headCells, b);
    }
    be.k(Kernel.SOFTMAX_ROWS_BACKWARD).tensor(p, master).tensor(dP, master).i64(rows).i64(nk).f64(s.scale())
        .tensor(dS, q.dtype);
    be.rows(rows, nk);
    GemmType toDq = be.gemmType(q.dtype, k.dtype, dq.dtype), toDk = be.gemmType(q.dtype, q.dtype, dk.dtype);
    GemmType toDv = be.gemmType(pvType, dOut.dtype, dv.dtype);
    for (int i = 0; i < h; i++) {
      long dSh = dS + i * headCells * q.dtype.bytes(), col = (long) i * d;
      be.gemm(toDq, false, false, nq, d, nk, 1, dSh, nk, h * headCells, k.at(col), s.ldkv(), (long) nk * s.ldkv(), 0,
          dq.at(col), s.ldq(), (long) nq * s.ldq(), b);
      be.gemm(toDk, true, false, nk, d, nq, 1, dSh, nk, h * headCells, q.at(col), s.ldq(), (long) nq * s.ldq(), 0,
          dk.at(col), s.ldkv(), (long) nk * s.ldkv(), b);
      be.gemm(toDv, true, false, nk, d, nq, 1, pv + i * headCells * pvType.bytes(), nk, h * headCells, dOut.at(col),
          s.width(), (long) nq * s.width(), 0, dv.at(col), s.ldkv(), (long) nk * s.ldkv(), b);
    }
  }

  void close() {
    probs.release();
    grads.release();
    dScores.release();
  }
}
