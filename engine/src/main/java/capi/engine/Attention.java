package capi.engine;

/**
 * Multi-head attention without biases, RoPE on queries and keys (never values), as the
 * reference's Attention: queries from x (B, Nq, D), keys and values from a context (B, Nk, Dc),
 * which is x itself for self-attention.
 *
 * <p>The q, k, v weights are consecutive parameters, so their products are fused: self-attention
 * computes qkv = x·[Wq; Wk; Wv]ᵀ (B·N, 3D) in one product, cross-attention q = x·Wqᵀ and
 * kv = ctx·[Wk; Wv]ᵀ (B·Nk, 2D); the attention primitive reads q, k, v in place with those row
 * strides, and the backward's dq/dk/dv land in the same layout, so the weight gradients and the
 * input gradients are again one product each.
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
  private final int contextDim;
  private final Linear qkv; // [Wq; Wk; Wv] (self-attention, contextDim = dim)
  private final Linear kv; // [Wk; Wv]
  private final Arena arena;
  private final Object scope;
  // forward state
  private Tensor x, ctx, qBuf, kvBuf, ob, stash;
  private RopeTables.Rotation ropeQ, ropeK;
  private AttentionShape shape;
  private boolean self;
  private long rq, rk;

  /** @param scope buffers shared with other layers of that scope, or null for buffers of its own */
  Attention(ParamSet ps, String name, int dim, int contextDim, int heads, Arena arena, Object scope) {
    this.dim = dim;
    this.contextDim = contextDim;
    this.heads = heads;
    this.headDim = dim / heads;
    this.q = new Linear(ps, name + ".q_proj", dim, dim);
    this.k = new Linear(ps, name + ".k_proj", contextDim, dim);
    this.v = new Linear(ps, name + ".v_proj", contextDim, dim);
    this.proj = new Linear(ps, name + ".proj", dim, dim);
    this.freqs = ps.add(name + ".rope.freqs", 2, headDim);
    this.kv = new Linear(ps.span(k.w, v.w), contextDim, 2 * dim);
    this.qkv = contextDim == dim ? new Linear(ps.span(q.w, v.w), dim, 3 * dim) : null;
    this.arena = arena;
    this.scope = scope != null ? scope : this;
  }

  /**
   * y (B·Nq, D, master) ← attention of x (B, Nq, D), rotated by ropeQ, over ctx (B, Nk, Dc), rotated
   * by ropeK (tables of this layer's freqs). Self-attention: ctx == x and ropeK == ropeQ. Inputs
   * and tables must stay untouched until the backward; backward = false keeps nothing for one.
   */
  void forward(Tensor x, RopeTables.Rotation ropeQ, Tensor ctx, RopeTables.Rotation ropeK, int batch, int nq, int nk,
      Tensor y, boolean backward) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    this.x = x;
    this.ctx = ctx;
    this.ropeQ = ropeQ;
    this.ropeK = ropeK;
    this.self = ctx == x;
    if (self && qkv == null) throw new IllegalStateException("self-attention needs contextDim == dim");
    rq = (long) batch * nq;
    rk = (long) batch * nk;
    Tensor qv, kView, vView;
    if (self) {
      qBuf = arena.get(scope, "qkv", arena.compute(), rq * 3 * dim);
      qkv.forward(be, x, rq, qBuf);
      qv = qBuf;
      kView = arena.view(qBuf, dim, qBuf.length() - dim);
      vView = arena.view(qBuf, 2L * dim, qBuf.length() - 2L * dim);
      shape = new AttentionShape(batch, heads, nq, nk, headDim, 3 * dim, 3 * dim, 1 / Math.sqrt(headDim));
    } else {
      qBuf = arena.get(scope, "q", arena.compute(), rq * dim);
      kvBuf = arena.get(scope, "kv", arena.compute(), rk * 2 * dim);
      q.forward(be, x, rq, qBuf);
      kv.forward(be, ctx, rk, kvBuf);
      qv = qBuf;
      kView = kvBuf;
      vView = arena.view(kvBuf, dim, kvBuf.length() - dim);
      shape = new AttentionShape(batch, heads, nq, nk, headDim, dim, 2 * dim, 1 / Math.sqrt(headDim));
    }
    be.rope(qv, shape.ldq(), rq, heads, headDim, ropeQ.cos(), ropeQ.sin(), ropeQ.tableRows(), false);
    be.rope(kView, shape.ldkv(), rk, heads, headDim, ropeK.cos(), ropeK.sin(), ropeK.tableRows(), false);
    ob = arena.get(scope, "ob", arena.compute(), rq * dim);
    stash = backward ? arena.get(scope, "stash", arena.master(), be.attentionStashLength(batch, heads, nq, nk)) : null;
    be.attention(shape, qv, kView, vView, ob, stash);
    proj.forward(be, ob, rq, y);
    arena.profile().add(Profile.Kind.ATTENTION, false, t0);
  }

  /**
   * Given dy (compute dtype): dx ← ∂L/∂x; for cross-attention dctx += ∂L/∂ctx (self-attention:
   * dctx is ignored). Weight gradients accumulate.
   */
  void backward(Tensor dy, Tensor dx, Tensor dctx) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    Tensor dO = arena.get(scope, "dO", arena.compute(), rq * dim);
    proj.backward(be, ob, dy, rq, dO, false);
    if (self) {
      Tensor dqkv = arena.get(scope, "dqkv", arena.compute(), rq * 3 * dim);
      Tensor dk = arena.view(dqkv, dim, dqkv.length() - dim), dv = arena.view(dqkv, 2L * dim, dqkv.length() - 2L * dim);
      be.attentionBackward(shape, qBuf, arena.view(qBuf, dim, qBuf.length() - dim),
          arena.view(qBuf, 2L * dim, qBuf.length() - 2L * dim), ob, stash, dO, dqkv, dk, dv);
      be.rope(dqkv, 3 * dim, rq, heads, headDim, ropeQ.cos(), ropeQ.sin(), ropeQ.tableRows(), true);
      be.rope(dk, 3 * dim, rk, heads, headDim, ropeK.cos(), ropeK.sin(), ropeK.tableRows(), true);
      qkv.backward(be, x, dqkv, rq, dx, false);
    } else {
      Tensor dq = arena.get(scope, "dq", arena.compute(), rq * dim);
      Tensor dkv = arena.get(scope, "dkv", arena.compute(), rk * 2 * dim);
      Tensor dv = arena.view(dkv, dim, dkv.length() - dim);
      be.attentionBackward(shape, qBuf, kvBuf, arena.view(kvBuf, dim, kvBuf.length() - dim), ob, stash, dO, dq, dkv, dv);
      be.rope(dq, dim, rq, heads, headDim, ropeQ.cos(), ropeQ.sin(), ropeQ.tableRows(), true);
      be.rope(dkv, 2 * dim, rk, heads, headDim, ropeK.cos(), ropeK.sin(), ropeK.tableRows(), true);
      q.backward(be, x, dq, rq, dx, false);
      kv.backward(be, ctx, dkv, rk, dctx, true);
    }
    arena.profile().add(Profile.Kind.ATTENTION, true, t0);
  }
}
