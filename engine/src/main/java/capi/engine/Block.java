package capi.engine;

import java.util.SplittableRandom;

/**
 * A pre-norm transformer block: x += DropPath(Attn(RMSNorm₁(x), context)); x += DropPath(MLP(RMSNorm₂(x))).
 * Self-attention when there is no context (encoder), cross-attention only otherwise (predictor:
 * the norm applies to the queries, not to the context).
 */
final class Block {
  final RmsNorm norm1;
  final Attention attn;
  final RmsNorm norm2;
  final Mlp mlp;
  final int dim;
  private final Arena arena;
  private final Object scope;
  private final Branch b1 = new Branch("b1");
  private final Branch b2 = new Branch("b2");
  private Tensor ctxS, dctxS;
  private int batch, tokens, ctxTokens, ctxDim;
  private boolean cross;

  /** Per-branch state: the kept samples, their input, normed input, output and gradients. */
  private static final class Branch {
    final String name;
    int[] keep;
    double scale;
    Tensor in, normed, out, dOut, dNormed, dIn;

    Branch(String name) {
      this.name = name;
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
   * x (B, T, D) updated in place at the coordinates of rope (B·T rows); ctx (B, Tk, Dc) at those of
   * ctxRope, or null for self-attention. rng null: no drop path. ctx must stay untouched until the
   * backward, and both coordinate sets until the next forward.
   */
  void forward(Tensor x, RopeTables rope, Tensor ctx, RopeTables ctxRope, int batch, int tokens, int ctxTokens,
      int ctxDim, double dropRate, SplittableRandom rng) {
    Backend be = arena.backend();
    this.batch = batch;
    this.tokens = tokens;
    this.cross = ctx != null;
    this.ctxTokens = ctxTokens;
    this.ctxDim = ctxDim;
    // branch 1: attention
    start(b1, x, dropRate, rng);
    int n = b1.keep.length;
    RopeTables.Rotation rotation = kept(b1, "rope", rope.get(attn.freqs.value, attn.headDim), tokens);
    if (cross) {
      ctxS = arena.get(scope, "ctxS", (long) n * ctxTokens * ctxDim);
      be.gatherRows(ctx, b1.keep, ctxTokens * ctxDim, ctxS);
      RopeTables.Rotation ctxRotation = kept(b1, "ctxRope", ctxRope.get(attn.freqs.value, attn.headDim), ctxTokens);
      attn.forward(b1.normed, rotation, ctxS, ctxRotation, n, tokens, ctxTokens, b1.out);
    } else {
      attn.forward(b1.normed, rotation, b1.normed, rotation, n, tokens, tokens, b1.out);
    }
    addBack(b1, b1.out, b1.scale, x);
    // branch 2: MLP
    start(b2, x, dropRate, rng);
    mlp.forward(b2.normed, b2.keep.length * tokens, b2.out);
    addBack(b2, b2.out, b2.scale, x);
  }

  /** The rotation of the branch's kept samples ({@code tokens} rows each): all of it when none is dropped. */
  private RopeTables.Rotation kept(Branch br, String name, RopeTables.Rotation all, int tokens) {
    if (br.keep.length == batch) return all;
    int cols = tokens * attn.headDim;
    Tensor cos = arena.get(scope, name + ".cos", (long) br.keep.length * cols);
    Tensor sin = arena.get(scope, name + ".sin", (long) br.keep.length * cols);
    arena.backend().gatherRows(all.cos(), br.keep, cols, cos);
    arena.backend().gatherRows(all.sin(), br.keep, cols, sin);
    return new RopeTables.Rotation(cos, sin);
  }

  /** x[keep] += scale·rows (a plain axpy when the branch kept every sample in order). */
  private void addBack(Branch br, Tensor rows, double scale, Tensor x) {
    if (br.keep.length == batch) arena.backend().axpy(scale, rows, x); // no drop: keep is 0..B−1
    else arena.backend().scatterAddRows(rows, br.keep, tokens * dim, scale, x);
  }

  /** dst ← src[keep] (a plain copy when every sample is kept). */
  private void gather(Branch br, Tensor src, Tensor dst) {
    if (br.keep.length == batch) arena.backend().copy(src, dst);
    else arena.backend().gatherRows(src, br.keep, tokens * dim, dst);
  }

  /** Picks the branch's samples, gathers and normalises them. */
  private void start(Branch br, Tensor x, double dropRate, SplittableRandom rng) {
    Backend be = arena.backend();
    br.keep = DropPath.keep(batch, dropRate, rng);
    br.scale = (double) batch / br.keep.length;
    long size = (long) br.keep.length * tokens * dim;
    br.in = arena.get(scope, br.name + ".in", size);
    br.normed = arena.get(scope, br.name + ".normed", size);
    br.out = arena.get(scope, br.name + ".out", size);
    gather(br, x, br.in);
    (br == b1 ? norm1 : norm2).forward(br.in, br.keep.length * tokens, br.normed);
  }

  /** dx (B, T, D): gradient of the block output, turned in place into that of its input; dctx += (cross only). */
  void backward(Tensor dx, Tensor dctx) {
    Backend be = arena.backend();
    // branch 2
    prepareBackward(b2, dx);
    mlp.backward(b2.dOut, b2.dNormed);
    finishBackward(b2, norm2, dx);
    // branch 1
    prepareBackward(b1, dx);
    int n = b1.keep.length;
    be.fill(b1.dNormed, 0);
    if (cross) {
      dctxS = arena.get(scope, "dctxS", (long) n * ctxTokens * ctxDim);
      be.fill(dctxS, 0);
      attn.backward(b1.dOut, b1.dNormed, dctxS);
      be.scatterAddRows(dctxS, b1.keep, ctxTokens * ctxDim, 1, dctx);
    } else {
      attn.backward(b1.dOut, b1.dNormed, b1.dNormed);
    }
    finishBackward(b1, norm1, dx);
  }

  private void prepareBackward(Branch br, Tensor dx) {
    Backend be = arena.backend();
    long size = (long) br.keep.length * tokens * dim;
    br.dOut = arena.get(scope, br.name + ".dOut", size);
    br.dNormed = arena.get(scope, br.name + ".dNormed", size);
    br.dIn = arena.get(scope, br.name + ".dIn", size);
    gather(br, dx, br.dOut);
    be.scale(br.dOut, br.scale);
  }

  private void finishBackward(Branch br, RmsNorm norm, Tensor dx) {
    Backend be = arena.backend();
    be.fill(br.dIn, 0);
    norm.backward(br.in, br.dNormed, br.keep.length * tokens, br.dIn);
    addBack(br, br.dIn, 1, dx);
  }
}
