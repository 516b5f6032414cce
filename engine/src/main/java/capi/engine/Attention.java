package capi.engine;

/**
 * Multi-head attention without biases, RoPE on queries and keys (never values), as the
 * reference's Attention: queries from x (B, Nq, D), keys and values from a context (B, Nk, Dc),
 * which is x itself for self-attention.
 */
final class Attention {
  final Linear q;
  final Linear k;
  final Linear v;
  final Linear proj;
  final Param freqs; // (2, headDim), frozen
  final int dim;
  final int heads;
  final int headDim;
  private final Arena arena;
  private final Object scope;
  private Tensor qb, kb, vb, probs, ob, cosQ, sinQ, cosK, sinK; // forward state (the rope tables are borrowed)
  private Tensor dO, dP, dq, dk, dv;
  private Tensor x, ctx;
  private int batch, nq, nk;

  /** @param scope buffers shared with other layers of that scope, or null for buffers of its own */
  Attention(ParamSet ps, String name, int dim, int contextDim, int heads, Arena arena, Object scope) {
    this.dim = dim;
    this.heads = heads;
    this.headDim = dim / heads;
    this.q = new Linear(ps, name + ".q_proj", dim, dim);
    this.k = new Linear(ps, name + ".k_proj", contextDim, dim);
    this.v = new Linear(ps, name + ".v_proj", contextDim, dim);
    this.proj = new Linear(ps, name + ".proj", dim, dim);
    this.freqs = ps.add(name + ".rope.freqs", 2, headDim);
    this.arena = arena;
    this.scope = scope != null ? scope : this;
  }

  /**
   * y (B, Nq, D) ← attention of x (B, Nq, D), rotated by ropeQ (B·Nq rows), over ctx (B, Nk, Dc),
   * rotated by ropeK (B·Nk rows), both of this layer's freqs (RopeTables). For self-attention pass
   * ctx == x and ropeK == ropeQ. Inputs and tables must stay untouched until the backward.
   */
  void forward(Tensor x, RopeTables.Rotation ropeQ, Tensor ctx, RopeTables.Rotation ropeK, int batch, int nq, int nk,
      Tensor y) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    this.x = x;
    this.ctx = ctx;
    this.batch = batch;
    this.nq = nq;
    this.nk = nk;
    int rq = batch * nq, rk = batch * nk;
    qb = arena.get(scope, "qb", (long) rq * dim);
    kb = arena.get(scope, "kb", (long) rk * dim);
    vb = arena.get(scope, "vb", (long) rk * dim);
    ob = arena.get(scope, "ob", (long) rq * dim);
    probs = arena.get(scope, "probs", (long) batch * heads * nq * nk);
    cosQ = ropeQ.cos();
    sinQ = ropeQ.sin();
    cosK = ropeK.cos();
    sinK = ropeK.sin();
    q.forward(be, x, rq, qb);
    k.forward(be, ctx, rk, kb);
    v.forward(be, ctx, rk, vb);
    be.rope(qb, cosQ, sinQ, rq, heads, headDim, false);
    be.rope(kb, cosK, sinK, rk, heads, headDim, false);
    double scale = 1 / Math.sqrt(headDim);
    long sp = (long) heads * nq * nk;
    for (int h = 0; h < heads; h++) {
      long hd = (long) h * headDim, hp = (long) h * nq * nk;
      // S_bh = scale · q_bh k_bhᵀ  (Nq, Nk)
      be.gemm(false, true, nq, nk, headDim, scale, qb, hd, dim, kb, hd, dim, 0, probs, hp, nk,
          batch, (long) nq * dim, (long) nk * dim, sp);
    }
    be.softmaxRows(probs, batch * heads * nq, nk);
    for (int h = 0; h < heads; h++) {
      long hd = (long) h * headDim, hp = (long) h * nq * nk;
      // O_bh = P_bh v_bh  (Nq, headDim), written into its head's columns of (B, Nq, D)
      be.gemm(false, false, nq, headDim, nk, 1, probs, hp, nk, vb, hd, dim, 0, ob, hd, dim,
          batch, sp, (long) nk * dim, (long) nq * dim);
    }
    proj.forward(be, ob, rq, y);
    arena.profile().add(Profile.Kind.ATTENTION, false, t0);
  }

  /** dx += ∂L/∂x and dctx += ∂L/∂ctx (the same tensor for self-attention); weight grads accumulate. */
  void backward(Tensor dy, Tensor dx, Tensor dctx) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    int rq = batch * nq, rk = batch * nk;
    dO = arena.get(scope, "dO", (long) rq * dim);
    dP = arena.get(scope, "dP", (long) batch * heads * nq * nk);
    dq = arena.get(scope, "dq", (long) rq * dim);
    dk = arena.get(scope, "dk", (long) rk * dim);
    dv = arena.get(scope, "dv", (long) rk * dim);
    proj.backward(be, ob, dy, rq, dO, false);
    double scale = 1 / Math.sqrt(headDim);
    long sp = (long) heads * nq * nk;
    for (int h = 0; h < heads; h++) {
      long hd = (long) h * headDim, hp = (long) h * nq * nk;
      be.gemm(false, true, nq, nk, headDim, 1, dO, hd, dim, vb, hd, dim, 0, dP, hp, nk,
          batch, (long) nq * dim, (long) nk * dim, sp); // dP = dO vᵀ
      be.gemm(true, false, nk, headDim, nq, 1, probs, hp, nk, dO, hd, dim, 0, dv, hd, dim,
          batch, sp, (long) nq * dim, (long) nk * dim); // dv = Pᵀ dO
    }
    be.softmaxRowsBackward(probs, dP, batch * heads * nq, nk); // dP ← ∂L/∂S
    for (int h = 0; h < heads; h++) {
      long hd = (long) h * headDim, hp = (long) h * nq * nk;
      be.gemm(false, false, nq, headDim, nk, scale, dP, hp, nk, kb, hd, dim, 0, dq, hd, dim,
          batch, sp, (long) nk * dim, (long) nq * dim); // dq = scale·dS k
      be.gemm(true, false, nk, headDim, nq, scale, dP, hp, nk, qb, hd, dim, 0, dk, hd, dim,
          batch, sp, (long) nq * dim, (long) nk * dim); // dk = scale·dSᵀ q
    }
    be.rope(dq, cosQ, sinQ, rq, heads, headDim, true);
    be.rope(dk, cosK, sinK, rk, heads, headDim, true);
    q.backward(be, x, dq, rq, dx, true);
    k.backward(be, ctx, dk, rk, dctx, true);
    v.backward(be, ctx, dv, rk, dctx, true);
    arena.profile().add(Profile.Kind.ATTENTION, true, t0);
  }
}
