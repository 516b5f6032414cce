package capi.engine;

import capi.config.ModelConfig;

/**
 * The reference's EncoderDecoder: patch embedding (a stride-p convolution with bias), registers,
 * a self-attention encoder with a weightless final norm, and a cross-attention-only predictor
 * that turns one shared mask token at the queried positions into predictions. Keeps what its
 * backward needs between the forward and the backward of a step.
 *
 * <p>Index sets come from an {@link Indices} the caller filled with {@link #indexEncode} and
 * {@link #indexPredict} (one upload per step). Dtypes: patches and the encoder output (the
 * predictor's context) are compute, the residual streams master.
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
  private final int patchLen;
  private final RopeTables stepTokens; // the encoder's tokens at this step's patches: its blocks' and the predictor's context
  private final RopeTables gridTokens; // every patch of one sample (constant)
  private final RopeTables stepQueries; // the predictor's queries at this step's positions
  private final RopeTables gridQueries; // the predictor's queries at every position of one sample (constant)
  // encoder state
  private int batch, tokens, seq;
  private String encPrefix;
  private Tensor patchesIn, x, ctx;
  private RopeTables tokenRope;
  // predictor state
  private int queries, depthUsed;
  private Tensor q;

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
    patchLen = cfg.inChannels() * cfg.patchSize() * cfg.patchSize();
    stepTokens = new RopeTables(arena);
    gridTokens = new RopeTables(arena);
    stepQueries = new RopeTables(arena);
    gridQueries = new RopeTables(arena);
  }

  /** The frequencies changed on the host: every cached RoPE table goes. */
  void invalidateRope() {
    stepTokens.invalidate();
    gridTokens.invalidate();
    stepQueries.invalidate();
    gridQueries.invalidate();
  }

  /**
   * Index sections of {@link #encode} under {@code prefix}: the patches (B·T flat b·N + n
   * indices, T per image; null: every patch), where registers and patches go in the token
   * sequence, and "grid" (0 … N−1) for constant coordinates.
   */
  void indexEncode(Indices ix, String prefix, int batch, int[] patchIndex) {
    int n = cfg.patches(), r = cfg.registers(), t = patchIndex == null ? n : patchIndex.length / batch, s = r + t;
    int at = ix.reserve(prefix + ".patches", batch * t);
    int[] h = ix.host();
    for (int i = 0; i < batch * t; i++) h[at + i] = patchIndex == null ? i : patchIndex[i];
    int rows = ix.reserve(prefix + ".regRows", batch * r), src = ix.reserve(prefix + ".regSource", batch * r);
    int patches = ix.reserve(prefix + ".patchRows", batch * t);
    h = ix.host();
    for (int b = 0; b < batch; b++) {
      for (int i = 0; i < r; i++) {
        h[rows + b * r + i] = b * s + i;
        h[src + b * r + i] = i;
      }
      for (int i = 0; i < t; i++) h[patches + b * t + i] = b * s + r + i;
    }
    if (!ix.has("grid")) {
      at = ix.reserve("grid", n);
      for (int i = 0; i < n; i++) ix.host()[at + i] = i;
    }
  }

  /** Index sections of {@link #predict} under {@code prefix}: the query positions (null: every position) and the mask token's broadcast. */
  void indexPredict(Indices ix, String prefix, int batch, int[] predictIndex) {
    int rows = predictIndex == null ? batch * cfg.patches() : predictIndex.length;
    int at = ix.reserve(prefix + ".queries", rows);
    int[] h = ix.host();
    for (int i = 0; i < rows; i++) h[at + i] = predictIndex == null ? i : predictIndex[i];
    at = ix.reserve(prefix + ".zeros", rows);
    java.util.Arrays.fill(ix.host(), at, at + rows, 0);
  }

  /**
   * Encoder on registers + the patches of section {@code prefix}.patches of images (B, C, H, W);
   * fullGrid: they are every patch (constant coordinates). keeps: 2 per block (null: no drop
   * path). Returns the enc_norm-ed output (B, R + T, D), valid until the next encode.
   */
  Tensor encode(Tensor images, int batch, Indices ix, String prefix, boolean fullGrid, Block.Keep[] keeps,
      boolean backward) {
    long t0 = Profile.now();
    Backend be = arena.backend();
    int d = cfg.dim(), r = cfg.registers();
    Tensor patchIndex = ix.get(prefix + ".patches");
    this.batch = batch;
    this.tokens = (int) (patchIndex.length() / batch);
    this.seq = r + tokens;
    this.encPrefix = prefix;
    long rows = patchIndex.length();
    patchesIn = arena.get(this, "patchesIn", arena.compute(), rows * patchLen);
    be.patchify(images, cfg.inChannels(), cfg.imageHeight(), cfg.imageWidth(), cfg.patchSize(), patchIndex, patchesIn);
    Tensor embedded = arena.get(this, "embedded", arena.master(), rows * d);
    be.gemm(false, true, (int) rows, d, patchLen, 1, patchesIn, 0, patchLen, patchWeight.compute, 0, patchLen,
        0, embedded, 0, d, 1, 0, 0, 0);
    be.addRowVector(embedded, rows, d, patchBias.value);
    x = arena.get(this, "x", arena.master(), (long) batch * seq * d);
    be.fill(x, 0);
    Tensor regTmp = arena.get(this, "regTmp", arena.master(), (long) batch * r * d);
    be.gatherRows(registers.value, ix.get(prefix + ".regSource"), d, regTmp); // registers repeated per sample
    be.scatterAddRows(regTmp, ix.get(prefix + ".regRows"), d, 1, x);
    be.scatterAddRows(embedded, ix.get(prefix + ".patchRows"), d, 1, x);
    tokenRope = rope(fullGrid ? gridTokens : stepTokens, fullGrid, ix, prefix + ".patches", batch, r, "tokenCoords");
    arena.profile().add(Profile.Kind.PATCH_EMBED, false, t0);
    for (int i = 0; i < encoder.length; i++) {
      encoder[i].forward(x, tokenRope, null, null, batch, seq, 0, 0, keep(keeps, 2 * i, batch),
          keep(keeps, 2 * i + 1, batch), backward);
    }
    ctx = arena.get(this, "ctx", arena.compute(), (long) batch * seq * d);
    encNorm.forward(x, (long) batch * seq, ctx);
    return ctx;
  }

  private static Block.Keep keep(Block.Keep[] keeps, int i, int batch) {
    return keeps == null || keeps[i] == null ? Block.Keep.all(batch) : keeps[i];
  }

  /**
   * The tables' coordinates: constant ones (one sample's tokens at every patch) computed once, or
   * this step's, computed on the backend from the index section.
   */
  private RopeTables rope(RopeTables tables, boolean fullGrid, Indices ix, String section, int batch, int registers,
      String name) {
    if (fullGrid) {
      Tensor coords = arena.get(this, name + ".grid", arena.master(), 2L * (registers + cfg.patches()));
      if (!tables.holds(coords, registers + cfg.patches())) {
        arena.backend().tokenCoordinates(ix.get("grid"), 1, registers, cfg.gridH(), cfg.gridW(), coords);
      }
      tables.setConstant(coords, registers + cfg.patches());
    } else {
      Tensor index = ix.get(section);
      long rows = index.length() + (long) batch * registers;
      Tensor coords = arena.get(this, name, arena.master(), 2 * rows);
      arena.backend().tokenCoordinates(index, batch, registers, cfg.gridH(), cfg.gridW(), coords);
      tables.setCoordinates(coords, rows);
    }
    return tables;
  }

  /**
   * Predictor: the mask token at the positions of section {@code prefix}.queries attends to the
   * last encode's output through the first `depth` blocks; returns dec_norm of it, (B·P, Dp),
   * master dtype. fullGrid: the queries are every position.
   */
  Tensor predict(Indices ix, String prefix, boolean fullGrid, int depth, Block.Keep[] keeps, boolean backward) {
    Backend be = arena.backend();
    int dp = cfg.predDim();
    Tensor zeros = ix.get(prefix + ".zeros");
    long rows = zeros.length();
    this.queries = (int) (rows / batch);
    this.depthUsed = depth;
    q = arena.get(this, "q", arena.master(), rows * dp);
    be.gatherRows(maskToken.value, zeros, dp, q); // the one mask token, broadcast
    RopeTables queryRope = rope(fullGrid ? gridQueries : stepQueries, fullGrid, ix, prefix + ".queries", batch, 0,
        "queryCoords");
    int k0 = 2 * encoder.length;
    for (int i = 0; i < depth; i++) {
      decoder[i].forward(q, queryRope, ctx, tokenRope, batch, queries, seq, cfg.dim(), keep(keeps, k0 + 2 * i, batch),
          keep(keeps, k0 + 2 * i + 1, batch), backward);
    }
    Tensor out = arena.get(this, "out", arena.master(), rows * dp);
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
  void backward(Tensor dOut, Indices ix) {
    Backend be = arena.backend();
    int d = cfg.dim(), dp = cfg.predDim();
    long rows = (long) batch * queries;
    Tensor dQ = arena.get(this, "dQ", arena.master(), rows * dp);
    be.fill(dQ, 0);
    decNorm.backward(q, dOut, rows, dQ);
    Tensor dX = arena.get(this, "dX", arena.master(), (long) batch * seq * d);
    be.fill(dX, 0);
    Tensor dC = arena.get(this, "dC", arena.master(), (long) batch * seq * d);
    be.fill(dC, 0); // ∂L/∂ctx, accumulated over the predictor blocks
    for (int i = depthUsed - 1; i >= 0; i--) decoder[i].backward(dQ, dC);
    be.sumRows(dQ, rows, dp, maskToken.grad);
    encNorm.backward(x, dC, (long) batch * seq, dX);
    for (int i = encoder.length - 1; i >= 0; i--) encoder[i].backward(dX, null);
    long t0 = Profile.now();
    Tensor regTmp = arena.get(this, "regTmp", arena.master(), (long) batch * cfg.registers() * d);
    be.gatherRows(dX, ix.get(encPrefix + ".regRows"), d, regTmp);
    be.scatterAddRows(regTmp, ix.get(encPrefix + ".regSource"), d, 1, registers.grad);
    Tensor dEmb = arena.get(this, "dEmb", arena.compute(), (long) batch * tokens * d);
    be.gatherRows(dX, ix.get(encPrefix + ".patchRows"), d, dEmb);
    be.gemm(true, false, d, patchLen, batch * tokens, 1, dEmb, 0, d, patchesIn, 0, patchLen, 1,
        patchWeight.grad, 0, patchLen, 1, 0, 0, 0);
    be.sumRows(dEmb, (long) batch * tokens, d, patchBias.grad);
    arena.profile().add(Profile.Kind.PATCH_EMBED, true, t0);
  }
}
