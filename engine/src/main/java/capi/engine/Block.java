package capi.engine;

/**
 * A pre-norm transformer block: x += DropPath(Attn(RMSNorm₁(x), context)); x += DropPath(MLP(RMSNorm₂(x))).
 * Self-attention when there is no context (encoder), cross-attention only otherwise (predictor:
 * the norm applies to the queries, not to the context). The residual stream x is master dtype;
 * normed branch inputs are compute dtype.
 */
final class Block {
  /** The samples a residual branch runs on: all of them in order (index null) or `count` of them (I32 sample numbers). */
  record Keep(int count, Tensor index) {
    static Keep all(int batch) {
      return new Keep(batch, null);
    }
  }

  final RmsNorm norm1;
  final Attention attn;
  final RmsNorm norm2;
  final Mlp mlp;
  final int dim;
  private final Arena arena;
  private final Object scope;
  private final Branch b1 = new Branch("b1");
  private final Branch b2 = new Branch("b2");
  private int batch, tokens, ctxTokens, ctxDim;
  private boolean cross, backward;

  /** Per-branch state: the kept samples, their input, normed input, output. */
  private static final class Branch {
    final String name;
    Keep keep;
    double scale;
    Tensor in, normed, out;

    Branch(String name) {
      this.name = name;
    }

    boolean all() {
      return keep.index() == null;
    }
  }

  /**
   * @param scope null: the block and its layers keep buffers of their own (needed for a backward);
   *     otherwise all blocks given this scope share one set (a forward-only stack: the teacher)
   */
  Block(ParamSet ps, String name, int dim, int contextDim, int heads, Arena arena, Object scope) {
    this.dim = dim;
    this.norm1 = new RmsNorm(ps, name + ".residual1.norm", dim, arena, scope);
    this.attn = new Attention(ps, name + ".residual1.fn", dim, contextDim, heads, arena, scope);
    this.norm2 = new RmsNorm(ps, name + ".residual2.norm", dim, arena, scope);
    this.mlp = new Mlp(ps, name + ".residual2.fn", dim, arena, scope);
    this.arena = arena;
    this.scope = scope != null ? scope : this;
  }

  /**
   * x (B, T, D) updated in place at the coordinates of rope; ctx (B, Tk, Dc) at those of ctxRope,
   * or null for self-attention. keep1/keep2: the samples of the attention and MLP branches.
   * backward = true keeps what {@link #backward} needs (ctx must then stay untouched until it,
   * and both coordinate sets until the next forward).
   */
  void forward(Tensor x, RopeTables rope, Tensor ctx, RopeTables ctxRope, int batch, int tokens, int ctxTokens,
      int ctxDim, Keep keep1, Keep keep2, boolean backward) {
    Backend be = arena.backend();
    this.batch = batch;
    this.tokens = tokens;
    this.cross = ctx != null;
    this.ctxTokens = ctxTokens;
    this.ctxDim = ctxDim;
    this.backward = backward;
    // branch 1: attention
    start(b1, x, keep1);
    int n = b1.keep.count();
    RopeTables.Rotation rotation = kept(b1, "rope", rope.get(attn.freqs, attn.headDim), tokens);
    if (cross) {
      Tensor ctxS = ctx;
      if (!b1.all()) {
        ctxS = arena.get(scope, "ctxS", arena.compute(), (long) n * ctxTokens * ctxDim);
        be.gatherRows(ctx, b1.keep.index(), ctxTokens * ctxDim, ctxS);
      }
      RopeTables.Rotation ctxRotation = kept(b1, "ctxRope", ctxRope.get(attn.freqs, attn.headDim), ctxTokens);
      attn.forward(b1.normed, rotation, ctxS, ctxRotation, n, tokens, ctxTokens, b1.out, backward);
    } else {
      attn.forward(b1.normed, rotation, b1.normed, rotation, n, tokens, tokens, b1.out, backward);
    }
    addBack(b1, b1.out, b1.scale, x);
    // branch 2: MLP
    start(b2, x, keep2);
    mlp.forward(b2.normed, (long) b2.keep.count() * tokens, b2.out);
    addBack(b2, b2.out, b2.scale, x);
  }

  /** The rotation of the branch's kept samples: all of it when none is dropped or one table serves every sample. */
  private RopeTables.Rotation kept(Branch br, String name, RopeTables.Rotation all, int tokens) {
    if (br.all() || all.tableRows() <= tokens) return all;
    int cols = tokens * attn.headDim;
    Tensor cos = arena.get(scope, name + ".cos", arena.master(), (long) br.keep.count() * cols);
    Tensor sin = arena.get(scope, name + ".sin", arena.master(), (long) br.keep.count() * cols);
    arena.backend().gatherRows(all.cos(), br.keep.index(), cols, cos);
    arena.backend().gatherRows(all.sin(), br.keep.index(), cols, sin);
    return new RopeTables.Rotation(cos, sin, (long) br.keep.count() * tokens);
  }

  /** x[keep] += scale·rows (a plain axpy when the branch kept every sample in order). */
  private void addBack(Branch br, Tensor rows, double scale, Tensor x) {
    if (br.all()) arena.backend().axpy(scale, rows, x);
    else arena.backend().scatterAddRows(rows, br.keep.index(), tokens * dim, scale, x);
  }

  /** Picks the branch's samples, snapshots (when a backward follows) and normalises them. */
  private void start(Branch br, Tensor x, Keep keep) {
    Backend be = arena.backend();
    br.keep = keep;
    br.scale = (double) batch / keep.count();
    long size = (long) keep.count() * tokens * dim;
    br.normed = arena.get(scope, br.name + ".normed", arena.compute(), size);
    br.out = arena.get(scope, br.name + ".out", arena.master(), size);
    if (br.all() && !backward) {
      br.in = x; // read before x changes, and never again
    } else {
      br.in = arena.get(scope, br.name + ".in", arena.master(), size);
      if (br.all()) be.copy(x, br.in);
      else be.gatherRows(x, keep.index(), tokens * dim, br.in);
    }
    (br == b1 ? norm1 : norm2).forward(br.in, (long) keep.count() * tokens, br.normed);
  }

  /** dx (B, T, D): gradient of the block output, turned in place into that of its input; dctx += (cross only). */
  void backward(Tensor dx, Tensor dctx) {
    Backend be = arena.backend();
    // branch 2
    Tensor dOut = gradientOut(b2, dx);
    Tensor dNormed = arena.get(scope, "b2.dNormed", arena.master(), b2.normed.length());
    mlp.backward(dOut, dNormed);
    finishBackward(b2, norm2, dNormed, dx);
    // branch 1
    dOut = gradientOut(b1, dx);
    dNormed = arena.get(scope, "b1.dNormed", arena.master(), b1.normed.length());
    int n = b1.keep.count();
    if (cross && !b1.all()) {
      Tensor dctxS = arena.get(scope, "dctxS", arena.master(), (long) n * ctxTokens * ctxDim);
      be.fill(dctxS, 0);
      attn.backward(dOut, dNormed, dctxS);
      be.scatterAddRows(dctxS, b1.keep.index(), ctxTokens * ctxDim, 1, dctx);
    } else {
      attn.backward(dOut, dNormed, dctx);
    }
    finishBackward(b1, norm1, dNormed, dx);
  }

  /** The gradient of the branch output (compute dtype): dx at its samples, times the branch scale. */
  private Tensor gradientOut(Branch br, Tensor dx) {
    Backend be = arena.backend();
    Tensor dOut = arena.get(scope, br.name + ".dOut", arena.compute(), br.out.length());
    if (br.all()) be.copy(dx, dOut);
    else be.gatherRows(dx, br.keep.index(), tokens * dim, dOut);
    if (br.scale != 1) be.scale(dOut, br.scale);
    return dOut;
  }

  private void finishBackward(Branch br, RmsNorm norm, Tensor dNormed, Tensor dx) {
    Backend be = arena.backend();
    long rows = (long) br.keep.count() * tokens;
    if (br.all()) {
      norm.backward(br.in, dNormed, rows, dx); // dx += the branch's gradient
      return;
    }
    Tensor dIn = arena.get(scope, br.name + ".dIn", arena.master(), br.in.length());
    be.fill(dIn, 0);
    norm.backward(br.in, dNormed, rows, dIn);
    be.scatterAddRows(dIn, br.keep.index(), tokens * dim, 1, dx);
  }
}
