package capi.engine;

import capi.config.ModelConfig;
import capi.config.OptimConfig;
import java.util.Random;

/**
 * Times whole training steps of one worker on synthetic data (random images, random visible and
 * predicted patches): teacher forward, Sinkhorn, clustering loss, student forward/backward, update,
 * and the step's one read-back of its scalars.
 */
public final class StepBenchmark implements AutoCloseable {
  private final CapiTrainer trainer;
  private final StepInput[] inputs;
  private final int batch;

  /** Steps on a given backend (owned by the benchmark from then on). */
  public StepBenchmark(ModelConfig model, OptimConfig optim, int batch, Backend backend) {
    this.trainer = CapiTrainer.create(model, optim, 0, backend);
    this.batch = batch;
    this.inputs = new StepInput[] {synthetic(model, batch, 1), synthetic(model, batch, 2)};
  }

  private int stepsRun;

  /** Runs `steps` steps; returns their wall time in nanoseconds. */
  public long run(int steps) {
    long t0 = System.nanoTime();
    for (int s = 0; s < steps; s++) step();
    return System.nanoTime() - t0;
  }

  /** One step; returns its wall time in nanoseconds. */
  public long step() {
    long t0 = System.nanoTime();
    StepInput in = inputs[stepsRun++ % inputs.length];
    trainer.teacherForward(in);
    trainer.sinkhorn(Reducer.LOCAL);
    trainer.clusteringForwardBackward();
    trainer.studentForwardBackward();
    trainer.apply(1e-4, 0.999, 5e-5);
    trainer.stepScalars();
    return System.nanoTime() - t0;
  }

  /**
   * The model FLOPs of one training step (2 per multiply-add, matrix products and attention
   * scores only): teacher encoder forward, clustering head forward and backward, student encoder
   * and predictor forward and backward (weights and inputs), student head forward and backward.
   */
  public static double modelFlops(ModelConfig c, int batch) {
    double b = batch, d = c.dim(), dp = c.predDim(), k = c.prototypes(), r = c.registers();
    double patchLen = (double) c.inChannels() * c.patchSize() * c.patchSize();
    double teacherTokens = r + c.patches(), studentTokens = r + c.visible(), queries = c.predicted();
    double teacher = 2 * b * c.patches() * patchLen * d + c.depth() * encoderBlock(b, teacherTokens, d);
    double student = 2 * (2 * b * c.visible() * patchLen * d) // patch embedding: forward, weight gradient
        + 3 * c.depth() * encoderBlock(b, studentTokens, d)
        + 3 * c.predDepth() * (2 * b * queries * 12 * dp * dp + 2 * b * studentTokens * d * 2 * dp
            + 4 * b * queries * studentTokens * dp);
    double heads = 2 * (2 * c.patches() * b * d * k) + 3 * (2 * b * queries * dp * k);
    return teacher + student + heads;
  }

  /** One encoder block's forward on b samples of t tokens: q/k/v, proj, MLP, scores and weighted values. */
  private static double encoderBlock(double b, double t, double d) {
    return 2 * b * t * 12 * d * d + 4 * b * t * t * d;
  }

  public CapiTrainer trainer() {
    return trainer;
  }

  public long backendBytes() {
    return trainer.backendBytes();
  }

  public Profile profile() {
    return trainer.profile();
  }

  public int batch() {
    return batch;
  }

  /**
   * Random pixels and, per image, a random sorted visible set and predicted masked patches; mean
   * 0.5, std 0.25 per channel; drop-path seed `seed`.
   */
  public static StepInput synthetic(ModelConfig cfg, int batch, long seed) {
    Random rng = new Random(seed);
    int n = cfg.patches(), v = cfg.visible(), p = cfg.predicted();
    byte[] pixels = new byte[batch * cfg.inChannels() * cfg.imageHeight() * cfg.imageWidth()];
    rng.nextBytes(pixels);
    int[] visible = new int[batch * v], predict = new int[batch * p];
    int[] perm = new int[n];
    for (int b = 0; b < batch; b++) {
      for (int i = 0; i < n; i++) perm[i] = i;
      for (int i = 0; i < n - 1; i++) {
        int j = i + rng.nextInt(n - i);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      int[] vis = java.util.Arrays.copyOf(perm, v);
      java.util.Arrays.sort(vis);
      for (int i = 0; i < v; i++) visible[b * v + i] = b * n + vis[i];
      for (int i = 0; i < p; i++) predict[b * p + i] = b * n + perm[v + i];
    }
    double[] mean = new double[cfg.inChannels()], std = new double[cfg.inChannels()];
    java.util.Arrays.fill(mean, 0.5);
    java.util.Arrays.fill(std, 0.25);
    return new StepInput(batch, pixels, mean, std, visible, predict, seed);
  }

  @Override
  public void close() {
    trainer.close();
  }
}
