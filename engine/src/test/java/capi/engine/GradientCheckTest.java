package capi.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.ModelConfig;
import capi.engine.cpu.CpuBackend;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Finite-difference checks in float64 of every layer's backward and of both losses: for a random
 * projection R of the output, L = Σ R·y, the analytic ∂L/∂θ must match (L(θ+h) − L(θ−h))/2h for
 * parameters and inputs. Shapes are deliberately odd (non-square grid, predictor width ≠ encoder
 * width, drop path active).
 */
@Timeout(60)
class GradientCheckTest {
  private static final double H = 1e-5;
  private final Backend be = new CpuBackend(Precision.FLOAT64, 1);
  private final Arena arena = new Arena(be, new Profile());
  private final Random rng = new Random(7);

  @AfterEach
  void close() {
    arena.close();
  }

  @Test
  void linear() {
    ParamSet ps = new ParamSet();
    Linear lin = new Linear(ps, "l", 5, 7);
    ps.allocate(be, true);
    randomize(ps.values(), 1);
    Tensor x = random(4 * 5), y = zeros(4 * 7), r = random(4 * 7), dx = zeros(4 * 5);
    DoubleSupplier loss = () -> {
      lin.forward(be, x, 4, y);
      return dot(y, r);
    };
    loss.getAsDouble();
    lin.backward(be, x, r, 4, dx, false);
    check("linear W", lin.w.value, lin.w.grad, loss);
    check("linear x", x, dx, loss);
  }

  @Test
  void rmsNormWithAndWithoutGain() {
    for (boolean gain : new boolean[] {true, false}) {
      ParamSet ps = new ParamSet();
      RmsNorm norm = new RmsNorm(ps, gain ? "n" : null, 6, arena, null);
      ps.allocate(be, true);
      randomize(ps.values(), 1);
      Tensor x = random(3 * 6), y = zeros(18), r = random(18), dx = zeros(18);
      DoubleSupplier loss = () -> {
        norm.forward(x, 3, y);
        return dot(y, r);
      };
      loss.getAsDouble();
      norm.backward(x, r, 3, dx);
      if (gain) check("rmsnorm w", norm.weight.value, norm.weight.grad, loss);
      check("rmsnorm x", x, dx, loss);
    }
  }

  @Test
  void mlpWithExactGelu() {
    ParamSet ps = new ParamSet();
    Mlp mlp = new Mlp(ps, "m", 4, arena, null);
    ps.allocate(be, true);
    randomize(ps.values(), 1);
    Tensor x = random(5 * 4), y = zeros(20), r = random(20), dx = zeros(20);
    DoubleSupplier loss = () -> {
      mlp.forward(x, 5, y);
      return dot(y, r);
    };
    loss.getAsDouble();
    mlp.backward(r, dx);
    checkParams("mlp", ps, loss);
    check("mlp x", x, dx, loss);
  }

  @Test
  void selfAttentionWithRope() {
    ParamSet ps = new ParamSet();
    Attention attn = new Attention(ps, "a", 8, 8, 2, arena, null);
    ps.allocate(be, true);
    randomize(ps.values(), 0.5);
    be.upload(Init.ropeFreqs(4), 0, attn.freqs.value, 0, 8);
    int b = 2, n = 5;
    Tensor x = random(b * n * 8), coords = random(b * n * 2), y = zeros(b * n * 8), r = random(b * n * 8);
    Tensor dx = zeros(b * n * 8);
    RopeTables rope = ropeAt(coords, b * n);
    DoubleSupplier loss = () -> {
      RopeTables.Rotation rotation = rope.get(attn.freqs, attn.headDim);
      attn.forward(x, rotation, x, rotation, b, n, n, y, true);
      return dot(y, r);
    };
    loss.getAsDouble();
    attn.backward(r, dx, dx);
    checkParamsExcept("self-attention", ps, "rope", loss);
    check("self-attention x", x, dx, loss);
  }

  @Test
  void crossAttentionWithContextWidth() {
    ParamSet ps = new ParamSet();
    Attention attn = new Attention(ps, "a", 12, 8, 3, arena, null);
    ps.allocate(be, true);
    randomize(ps.values(), 0.5);
    be.upload(Init.ropeFreqs(4), 0, attn.freqs.value, 0, 8);
    int b = 2, nq = 3, nk = 4;
    Tensor x = random(b * nq * 12), cq = random(b * nq * 2), ctx = random(b * nk * 8), ck = random(b * nk * 2);
    Tensor y = zeros(b * nq * 12), r = random(b * nq * 12);
    Tensor dx = zeros(b * nq * 12), dctx = zeros(b * nk * 8);
    RopeTables ropeQ = ropeAt(cq, b * nq), ropeK = ropeAt(ck, b * nk);
    DoubleSupplier loss = () -> {
      attn.forward(x, ropeQ.get(attn.freqs, attn.headDim), ctx, ropeK.get(attn.freqs, attn.headDim), b, nq, nk, y, true);
      return dot(y, r);
    };
    loss.getAsDouble();
    attn.backward(r, dx, dctx);
    checkParamsExcept("cross-attention", ps, "rope", loss);
    check("cross-attention x", x, dx, loss);
    check("cross-attention ctx", ctx, dctx, loss);
  }

  @Test
  void blocksWithDropPath() {
    for (boolean cross : new boolean[] {false, true}) {
      ParamSet ps = new ParamSet();
      int d = 8, dc = cross ? 4 : 8, b = 4, t = 3, tk = 5;
      Block blk = new Block(ps, "b", d, dc, 2, arena, null);
      ps.allocate(be, true);
      randomize(ps.values(), 0.5);
      be.upload(Init.ropeFreqs(4), 0, blk.attn.freqs.value, 0, 8);
      Tensor x0 = random(b * t * d), x = zeros(b * t * d), coords = random(b * t * 2), r = random(b * t * d);
      Tensor ctx = cross ? random(b * tk * dc) : null, ck = cross ? random(b * tk * 2) : null;
      Tensor dctx = cross ? zeros(b * tk * dc) : null;
      RopeTables rope = ropeAt(coords, b * t), ctxRope = cross ? ropeAt(ck, b * tk) : null;
      SplittableRandom draw = new SplittableRandom(3);
      Block.Keep keep1 = keep(DropPath.keep(b, 0.5, draw)), keep2 = keep(DropPath.keep(b, 0.5, draw));
      DoubleSupplier loss = () -> {
        be.copy(x0, x);
        blk.forward(x, rope, ctx, ctxRope, b, t, cross ? tk : 0, cross ? dc : 0, keep1, keep2, true);
        return dot(x, r);
      };
      loss.getAsDouble();
      Tensor dx = zeros(b * t * d);
      be.copy(r, dx);
      blk.backward(dx, dctx);
      String name = cross ? "cross block" : "self block";
      checkParamsExcept(name, ps, "rope", loss);
      check(name + " x", x0, dx, loss);
      if (cross) check(name + " ctx", ctx, dctx, loss);
    }
  }

  @Test
  void backboneEndToEnd() {
    // 8×12 image with 2 channels: a 2×3 grid; predictor wider than the encoder; drop path on
    ModelConfig cfg = new ModelConfig(8, 12, 2, 4, 8, 2, 2, 12, 3, 2, 4, 5, 0.3, 0.5, 0.67, 0.12, 0.06, 0.12, 3, true);
    ParamSet ps = new ParamSet();
    Backbone bb = new Backbone(ps, cfg, arena, false);
    ps.allocate(be, true);
    Init.model(be, ps, new Random(1));
    int b = 3;
    Tensor images = random(b * 2 * 8 * 12);
    int[] visible = {0, 2, 5, 6, 7, 9, 13, 14, 17};
    int[] predict = {1, 4, 10, 8, 12, 16};
    Indices ix = new Indices(arena);
    bb.indexEncode(ix, "s", b, visible);
    bb.indexPredict(ix, "s", b, predict);
    SplittableRandom draw = new SplittableRandom(11);
    int[][] drawn = new int[2 * (cfg.depth() + cfg.predDepth())][];
    for (int i = 0; i < drawn.length; i++) {
      drawn[i] = DropPath.keep(b, cfg.dropPathRate(), draw);
      ix.put("keep." + i, drawn[i]);
    }
    ix.upload();
    Block.Keep[] keeps = new Block.Keep[drawn.length];
    for (int i = 0; i < drawn.length; i++) keeps[i] = new Block.Keep(drawn[i].length, ix.get("keep." + i));
    Tensor r = random(b * 2 * 12);
    DoubleSupplier loss = () -> {
      bb.encode(images, b, ix, "s", false, keeps, true);
      return dot(bb.predict(ix, "s", false, cfg.predDepth(), keeps, true), r);
    };
    loss.getAsDouble();
    bb.backward(r, ix);
    checkParamsExcept("backbone", ps, "rope", loss);
  }

  @Test
  void studentHeadAndItsLoss() {
    ParamSet ps = new ParamSet();
    StudentHead head = new StudentHead(ps, 6, 5, arena);
    ps.allocate(be, true);
    randomize(ps.values(), 1);
    int rows = 4;
    Tensor x = random(rows * 6), t = targets(rows, 5), dz = zeros(rows * 5), dx = zeros(rows * 6);
    DoubleSupplier loss = () -> crossEntropy(head.forward(x, rows), t, rows, 5, null) / rows;
    loss.getAsDouble();
    crossEntropy(head.forward(x, rows), t, rows, 5, dz);
    head.backward(dz, dx);
    checkParams("student head + loss", ps, loss);
    check("student head x", x, dx, loss);
  }

  @Test
  void clusteringHeadAndItsLoss() {
    ParamSet ps = new ParamSet();
    ClusteringHead head = new ClusteringHead(ps, 6, 5, arena);
    ps.allocate(be, true);
    randomize(ps.values(), 1);
    int rows = 7;
    Tensor x = random(rows * 6), q = targets(rows, 5), dz = zeros(rows * 5);
    DoubleSupplier loss = () -> crossEntropy(head.forward(x, rows), q, rows, 5, null) / rows;
    loss.getAsDouble();
    crossEntropy(head.forward(x, rows), q, rows, 5, dz);
    head.backward(dz);
    checkParams("clustering head + loss", ps, loss);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private Tensor zeros(int n) {
    return arena.get((Tensor) null, DType.F64, n);
  }

  /** Σ of the soft-target cross-entropy at temperature 0.12; dz (null: none) ← its gradient / rows. */
  private double crossEntropy(Tensor z, Tensor t, int rows, int k, Tensor dz) {
    Tensor scalars = zeros(1);
    be.softTargetCrossEntropy(z, t, rows, k, 0.12, dz, 1.0 / rows, scalars, 0);
    double[] out = new double[1];
    be.download(scalars, 0, out, 0, 1);
    return out[0];
  }

  /** The samples of a drop-path draw as a branch's Keep. */
  private Block.Keep keep(int[] samples) {
    Tensor index = arena.get((Tensor) null, DType.I32, samples.length);
    be.upload(samples, 0, index, 0, samples.length);
    return new Block.Keep(samples.length, index);
  }

  private Tensor random(int n) {
    Tensor t = zeros(n);
    randomize(t, 1);
    return t;
  }

  private RopeTables ropeAt(Tensor coords, int rows) {
    RopeTables rope = new RopeTables(arena);
    rope.setCoordinates(coords, rows);
    return rope;
  }

  private void randomize(Tensor t, double scale) {
    double[] v = new double[(int) t.length()];
    for (int i = 0; i < v.length; i++) v[i] = scale * rng.nextGaussian();
    be.upload(v, 0, t, 0, v.length);
  }

  /** Rows of a random distribution. */
  private Tensor targets(int rows, int k) {
    double[] v = new double[rows * k];
    for (int r = 0; r < rows; r++) {
      double s = 0;
      for (int j = 0; j < k; j++) s += v[r * k + j] = rng.nextDouble();
      for (int j = 0; j < k; j++) v[r * k + j] /= s;
    }
    Tensor t = zeros(v.length);
    be.upload(v, 0, t, 0, v.length);
    return t;
  }

  private double dot(Tensor a, Tensor b) {
    double[] x = new double[(int) a.length()], y = new double[(int) b.length()];
    be.download(a, 0, x, 0, x.length);
    be.download(b, 0, y, 0, y.length);
    double s = 0;
    for (int i = 0; i < x.length; i++) s += x[i] * y[i];
    return s;
  }

  private void checkParams(String what, ParamSet ps, DoubleSupplier loss) {
    checkParamsExcept(what, ps, null, loss);
  }

  private void checkParamsExcept(String what, ParamSet ps, String skip, DoubleSupplier loss) {
    for (Param p : ps.params()) {
      if (skip != null && p.name.contains(skip)) continue; // RoPE frequencies are frozen
      check(what + " " + p.name, p.value, p.grad, loss);
    }
  }

  /** Compares up to 12 random entries of grad with central differences of loss in value. */
  private void check(String what, Tensor value, Tensor grad, DoubleSupplier loss) {
    int n = (int) value.length();
    double[] g = new double[n];
    be.download(grad, 0, g, 0, n);
    double[] one = new double[1];
    for (int s = 0; s < Math.min(12, n); s++) {
      int i = n <= 12 ? s : rng.nextInt(n);
      be.download(value, i, one, 0, 1);
      double v = one[0];
      be.upload(new double[] {v + H}, 0, value, i, 1);
      double plus = loss.getAsDouble();
      be.upload(new double[] {v - H}, 0, value, i, 1);
      double minus = loss.getAsDouble();
      be.upload(new double[] {v}, 0, value, i, 1);
      double fd = (plus - minus) / (2 * H);
      double err = Math.abs(fd - g[i]) / Math.max(1e-4, Math.max(Math.abs(fd), Math.abs(g[i])));
      assertTrue(err < 1e-5, what + "[" + i + "]: analytic " + g[i] + " vs finite difference " + fd);
    }
    loss.getAsDouble(); // leave the forward state of the unperturbed values
  }
}
