package capi.engine;

import capi.config.ModelConfig;
import java.util.SplittableRandom;

/**
 * The reference's EncoderDecoder: patch embedding (a stride-p convolution with bias), registers,
 * a self-attention encoder with a weightless final norm, and a cross-attention-only predictor
 * that turns one shared mask token at the queried positions into predictions. Keeps what its
 * backward needs between the forward and the backward of a step.
 */
final class Backbone {
  final ModelConfig cfg;
  final Param maskToken; // (1, Dp)
  final Param registers; // (1, R, D)
  final Block[] encoder;
  final Block[] decoder;
  final Param patchWeight; // (D, C, p, p)
  final Param patchBias; // (D)
  final RmsNorm encNorm;
  final RmsNorm decNorm;
  private final Arena arena;
  private final double[] grid;
  private final int patchLen;
  private final RopeTables tokenRope; // the encoder's tokens: its blocks' and the predictor's context
  private final RopeTables queryRope; // the predictor's queries
  // encoder state
  private int batch, tokens, seq;
  private double dropRate;
  private int[] regRows, regSource, patchRows;
  private Tensor patchesIn, embedded, x, coords, ctx, dC, dX, dEmb, regTmp;
  // predictor state
  private int queries, depthUsed;
  private Tensor q, qCoords, out, dQ;

  /**
   * @param forwardOnly the backbone never runs a backward (the teacher): its blocks share one set
   *     of activation buffers per stack instead of keeping their own
   */
  Backbone(ParamSet ps, ModelConfig cfg, Arena arena, boolean forwardOnly) {
    this.cfg = cfg;
    this.arena = arena;
    Object encoderScope = forwardOnly ? new Object() : null, decoderScope = forwardOnly ? new Object() : null;
    maskToken = ps.add("backbone.mask_token", 1, cfg.predDim());
    registers = ps.add("backbone.registers", 1, cfg.registers(), cfg.dim());
    encoder = new Block[cfg.depth()];
    for (int i = 0; i < encoder.length; i++) {
      encoder[i] = new Block(ps, "backbone.encoder.blocks." + i, cfg.dim(), cfg.dim(), cfg.heads(), arena, encoderScope);
    }
    decoder = new Block[cfg.predDepth()];
    for (int i = 0; i < decoder.length; i++) {
      decoder[i] = new Block(ps, "backbone.decoder.blocks." + i, cfg.predDim(), cfg.dim(), cfg.predHeads(), arena,
          decoderScope);
    }
    patchWeight = ps.add("backbone.patch_embed.weight", cfg.dim(), cfg.inChannels(), cfg.patchSize(), cfg.patchSize());
    patchBias = ps.add("backbone.patch_embed.bias", cfg.dim());
    encNorm = new RmsNorm(ps, null, cfg.dim(), arena, null);
    decNorm = new RmsNorm(ps, null, cfg.predDim(), arena, null);
    grid = Coordinates.grid(cfg.gridH(), cfg.gridW());
    patchLen = cfg.inChannels() * cfg.patchSize() * cfg.patchSize();
    tokenRope = new RopeTables(arena);
    queryRope = new RopeTables(arena);
  }

  /**
   * Encoder on registers + the patches at patchIndex (B·T flat b·N + n indices, T per image) of
   * images (B, C, H, W). Returns the enc_norm-ed output (B, R + T, D), valid until the next encode.
   * rng null: no drop path (teacher, evaluation).
   */
  Tensor encode(Tensor images, int batch, int[] patchIndex, double dropRate, SplittableRandom rng) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    int d = cfg.dim(), r = cfg.registers();
    this.batch = batch;
    this.tokens = patchIndex.length / batch;
    this.seq = r + tokens;
    this.dropRate = dropRate;
    patchesIn = arena.get(patchesIn, (long) patchIndex.length * patchLen);
    be.patchify(images, cfg.inChannels(), cfg.imageHeight(), cfg.imageWidth(), cfg.patchSize(), patchIndex, patchesIn);
    embedded = arena.get(embedded, (long) patchIndex.length * d);
    be.gemm(false, true, patchIndex.length, d, patchLen, 1, patchesIn, 0, patchLen, patchWeight.value, 0, patchLen,
        0, embedded, 0, d, 1, 0, 0, 0);
    be.addRowVector(embedded, patchIndex.length, d, patchBias.value);
    layoutRows(batch, r);
    x = arena.get(x, (long) batch * seq * d);
    be.fill(x, 0);
    regTmp = arena.get(regTmp, (long) batch * r * d);
    be.gatherRows(registers.value, regSource, d, regTmp); // registers repeated per sample
    be.scatterAddRows(regTmp, regRows, d, 1, x);
    be.scatterAddRows(embedded, patchRows, d, 1, x);
    coords = arena.get(coords, (long) batch * seq * 2);
    double[] c = Coordinates.tokens(grid, cfg.patches(), r, batch, patchIndex);
    be.upload(c, 0, coords, 0, c.length);
    tokenRope.setCoordinates(coords, batch * seq);
    arena.profile().add(Profile.Kind.PATCH_EMBED, false, t0);
    for (Block blk : encoder) blk.forward(x, tokenRope, null, null, batch, seq, 0, 0, dropRate, rng);
    ctx = arena.get(ctx, (long) batch * seq * d);
    encNorm.forward(x, batch * seq, ctx);
    return ctx;
  }

  private void layoutRows(int batch, int r) {
    if (regRows != null && regRows.length == batch * r && patchRows.length == batch * tokens) return;
    regRows = new int[batch * r];
    regSource = new int[batch * r];
    patchRows = new int[batch * tokens];
    for (int b = 0; b < batch; b++) {
      for (int i = 0; i < r; i++) {
        regRows[b * r + i] = b * seq + i;
        regSource[b * r + i] = i;
      }
      for (int t = 0; t < tokens; t++) patchRows[b * tokens + t] = b * seq + r + t;
    }
  }

  /**
   * Predictor: the mask token at the positions predictIndex (B·P flat indices) attends to the
   * last encode's output through the first `depth` blocks; returns dec_norm of it, (B·P, Dp).
   */
  Tensor predict(int[] predictIndex, int depth, SplittableRandom rng) {
    Backend be = arena.backend();
    int dp = cfg.predDim();
    this.queries = predictIndex.length / batch;
    this.depthUsed = depth;
    int rows = predictIndex.length;
    q = arena.get(q, (long) rows * dp);
    be.gatherRows(maskToken.value, new int[rows], dp, q); // the one mask token, broadcast
    qCoords = arena.get(qCoords, (long) rows * 2);
    double[] c = Coordinates.patches(grid, cfg.patches(), predictIndex);
    be.upload(c, 0, qCoords, 0, c.length);
    queryRope.setCoordinates(qCoords, rows);
    for (int i = 0; i < depth; i++) {
      decoder[i].forward(q, queryRope, ctx, tokenRope, batch, queries, seq, cfg.dim(), dropRate, rng);
    }
    out = arena.get(out, (long) rows * dp);
    decNorm.forward(q, rows, out);
    return out;
  }

  /** The last encode's output (B, R + T, D) and its token count R + T. */
  Tensor context() {
    return ctx;
  }

  int sequence() {
    return seq;
  }

  /** Backward of predict then encode, given ∂L/∂(predict output); parameter gradients accumulate. */
  void backward(Tensor dOut) {
    Backend be = arena.backend();
    int d = cfg.dim(), dp = cfg.predDim(), rows = batch * queries;
    dQ = arena.get(dQ, (long) rows * dp);
    be.fill(dQ, 0);
    decNorm.backward(q, dOut, rows, dQ);
    dX = arena.get(dX, (long) batch * seq * d);
    be.fill(dX, 0);
    dC = arena.get(dC, (long) batch * seq * d);
    be.fill(dC, 0); // ∂L/∂ctx, accumulated over the predictor blocks
    for (int i = depthUsed - 1; i >= 0; i--) decoder[i].backward(dQ, dC);
    be.sumRows(dQ, rows, dp, maskToken.grad);
    encNorm.backward(x, dC, batch * seq, dX);
    for (int i = encoder.length - 1; i >= 0; i--) encoder[i].backward(dX, null);
    long t0 = Profile.now();
    be.gatherRows(dX, regRows, d, regTmp);
    be.scatterAddRows(regTmp, regSource, d, 1, registers.grad);
    dEmb = arena.get(dEmb, (long) batch * tokens * d);
    be.gatherRows(dX, patchRows, d, dEmb);
    be.gemm(true, false, d, patchLen, batch * tokens, 1, dEmb, 0, d, patchesIn, 0, patchLen, 1,
        patchWeight.grad, 0, patchLen, 1, 0, 0, 0);
    be.sumRows(dEmb, batch * tokens, d, patchBias.grad);
    arena.profile().add(Profile.Kind.PATCH_EMBED, true, t0);
  }
}
