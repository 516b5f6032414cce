package capi.engine.jmh;

import capi.engine.AttentionShape;
import capi.engine.Backend;
import capi.engine.Backends;
import capi.engine.DType;
import capi.engine.Precision;
import capi.engine.Tensor;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cpu backend's hot primitives at the tiny preset's shapes (batch 64: the teacher's 1280 tokens
 * of width 128, 20 tokens per image, K 1024, 16 positions), float32, with 1 and 2 threads: a
 * regression shows here before it shows in `capi bench --what step`. Run:
 * {@code mvn -o -q -pl engine-jmh -am install -DskipTests && mvn -o -q -pl engine-jmh exec:exec}
 * (-Djmh.args="REGEX -p threads=2" narrows it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class PrimitivesBenchmark {
  private static final int ROWS = 1280, D = 128, HIDDEN = 512, K = 1024, POSITIONS = 16, BATCH = 64, TOKENS = 20;
  private static final int HEADS = 2, HEAD_DIM = 64, PARAMS = 1_500_000;

  @Param({"1", "2"})
  public int threads;

  private Backend be;
  private Tensor x, w, hidden, act, dHidden, out, dx, rstd, gain, dGain;
  private Tensor qkv, dqkv, attnOut, stash, cos, sin;
  private Tensor logits, targets, dLogits, scalars, assignments, stat, next;
  private Tensor p, g, m, v, teacher;
  private AttentionShape attention;
  private long[] segments = {0, PARAMS};
  private double[] lr = {1e-3}, wd = {0.1};

  @Setup(Level.Trial)
  public void setUp() {
    be = Backends.create("cpu", Precision.FLOAT32, 0, threads);
    Random rng = new Random(1);
    x = random(ROWS * D, rng);
    w = random(HIDDEN * D, rng);
    hidden = random(ROWS * HIDDEN, rng);
    act = zeros(ROWS * HIDDEN);
    dHidden = random(ROWS * HIDDEN, rng);
    out = zeros(ROWS * D);
    dx = zeros(ROWS * D);
    rstd = zeros(ROWS);
    gain = random(D, rng);
    dGain = zeros(D);
    int width = HEADS * HEAD_DIM;
    attention = new AttentionShape(BATCH, HEADS, TOKENS, TOKENS, HEAD_DIM, 3 * width, 3 * width, 1 / Math.sqrt(HEAD_DIM));
    qkv = random(ROWS * 3 * width, rng);
    dqkv = zeros(ROWS * 3 * width);
    attnOut = random(ROWS * width, rng);
    stash = zeros((int) be.attentionStashLength(BATCH, HEADS, TOKENS, TOKENS));
    cos = random(TOKENS * HEAD_DIM, rng);
    sin = random(TOKENS * HEAD_DIM, rng);
    logits = random(POSITIONS * BATCH * K, rng);
    targets = zeros(POSITIONS * BATCH * K);
    be.fill(targets, 1.0 / K);
    dLogits = zeros(POSITIONS * BATCH * K);
    assignments = zeros(POSITIONS * BATCH * K);
    scalars = be.allocate(DType.F64, 4);
    stat = zeros(POSITIONS * K);
    next = zeros(POSITIONS * K);
    p = random(PARAMS, rng);
    g = random(PARAMS, rng);
    m = zeros(PARAMS);
    v = zeros(PARAMS);
    teacher = random(PARAMS, rng);
  }

  private Tensor zeros(int n) {
    return be.allocate(DType.F32, n);
  }

  private Tensor random(int n, Random rng) {
    Tensor t = zeros(n);
    float[] values = new float[n];
    for (int i = 0; i < n; i++) values[i] = (float) rng.nextGaussian();
    be.upload(values, 0, t, 0, n);
    return t;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    be.close();
  }

  /** fc1 forward: (1280 × 128)·(512 × 128)ᵀ. */
  @Benchmark
  public void gemmForward() {
    be.gemm(false, true, ROWS, HIDDEN, D, 1, x, 0, D, w, 0, D, 0, hidden, 0, HIDDEN, 1, 0, 0, 0);
  }

  /** fc1 weight gradient: (1280 × 512)ᵀ·(1280 × 128), accumulated. */
  @Benchmark
  public void gemmWeightGradient() {
    be.gemm(true, false, HIDDEN, D, ROWS, 1, dHidden, 0, HIDDEN, x, 0, D, 1, w, 0, D, 1, 0, 0, 0);
  }

  /** fc1 input gradient: (1280 × 512)·(512 × 128). */
  @Benchmark
  public void gemmInputGradient() {
    be.gemm(false, false, ROWS, D, HIDDEN, 1, dHidden, 0, HIDDEN, w, 0, D, 0, dx, 0, D, 1, 0, 0, 0);
  }

  @Benchmark
  public void attentionForward() {
    int width = HEADS * HEAD_DIM;
    be.attention(attention, qkv, be.view(qkv, width, qkv.length() - width), be.view(qkv, 2L * width, qkv.length() - 2L * width),
        attnOut, stash);
  }

  @Benchmark
  public void attentionBackward() {
    int width = HEADS * HEAD_DIM;
    long n = qkv.length();
    be.attentionBackward(attention, qkv, be.view(qkv, width, n - width), be.view(qkv, 2L * width, n - 2L * width), attnOut,
        stash, attnOut, dqkv, be.view(dqkv, width, n - width), be.view(dqkv, 2L * width, n - 2L * width));
  }

  @Benchmark
  public void rope() {
    be.rope(qkv, 3 * HEADS * HEAD_DIM, ROWS, HEADS, HEAD_DIM, cos, sin, TOKENS, false);
  }

  @Benchmark
  public void gelu() {
    be.gelu(hidden, act);
  }

  @Benchmark
  public void geluBackward() {
    be.geluBackward(hidden, dHidden, act);
  }

  @Benchmark
  public void rmsNormForwardBackward() {
    be.rmsNorm(x, gain, ROWS, D, 1e-5, out, rstd);
    be.rmsNormBackward(x, gain, rstd, out, ROWS, D, dx, dGain);
  }

  /** The clustering loss and its gradient over 16 × 64 tokens of K 1024. */
  @Benchmark
  public void crossEntropy() {
    be.softTargetCrossEntropy(logits, targets, (long) POSITIONS * BATCH, K, 0.12, dLogits, 1.0 / (POSITIONS * BATCH),
        scalars, 0);
  }

  /** Position-wise Sinkhorn-Knopp with 3 iterations on (16, 64, 1024), without reductions. */
  @Benchmark
  public void sinkhorn() {
    be.columnMax(logits, POSITIONS, BATCH, K, stat);
    be.expShifted(logits, stat, POSITIONS, BATCH, K, 1 / 0.06, 50, assignments, next);
    be.sinkhornStep(assignments, next, POSITIONS, BATCH, K, 1e-8, stat);
    be.sinkhornStep(assignments, stat, POSITIONS, BATCH, K, 1e-8, next);
    be.sinkhornStep(assignments, next, POSITIONS, BATCH, K, 1e-8, null);
  }

  /** AdamW and the teacher's EMA over 1.5M parameters. */
  @Benchmark
  public void adamwWithEma() {
    be.adamw(p, g, m, v, segments, lr, wd, 0.9, 0.95, 1e-8, 10, teacher, 0.996);
  }
}
