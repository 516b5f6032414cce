package capi.engine;

import capi.config.ModelConfig;
import capi.config.OptimConfig;
import java.util.Random;

/**
 * Times whole training steps of one worker on synthetic data (random images, random visible and
 * predicted patches): teacher forward, Sinkhorn, clustering loss, student forward/backward, update.
 */
public final class StepBenchmark implements AutoCloseable {
  private final CapiTrainer trainer;
  private final StepInput[] inputs;
  private final int batch;

  public StepBenchmark(ModelConfig model, OptimConfig optim, int batch, int threads) {
    this(model, optim, batch, new Nd4jBackend(Precision.of(model.precision()), threads));
  }

  /** Steps on a given backend (owned by the benchmark from then on). */
  public StepBenchmark(ModelConfig model, OptimConfig optim, int batch, Backend backend) {
    this.trainer = CapiTrainer.create(model, optim, 0, backend);
    this.batch = batch;
    this.inputs = new StepInput[] {synthetic(model, batch, 1), synthetic(model, batch, 2)};
  }

  /** Runs `steps` steps; returns their wall time in nanoseconds. */
  public long run(int steps) {
    long t0 = System.nanoTime();
    for (int s = 0; s < steps; s++) {
      StepInput in = inputs[s % inputs.length];
      trainer.teacherForward(in);
      trainer.sinkhorn(Reducer.LOCAL);
      trainer.clusteringForwardBackward();
      trainer.studentForwardBackward(in, s);
      trainer.apply(1e-4, 0.999, 5e-5);
    }
    return System.nanoTime() - t0;
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

  /** Random images and, per image, a random sorted visible set and predicted masked patches. */
  public static StepInput synthetic(ModelConfig cfg, int batch, long seed) {
    Random rng = new Random(seed);
    int n = cfg.patches(), v = cfg.visible(), p = cfg.predicted();
    float[] images = new float[batch * cfg.inChannels() * cfg.imageHeight() * cfg.imageWidth()];
    for (int i = 0; i < images.length; i++) images[i] = (float) rng.nextGaussian();
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
    return new StepInput(batch, images, visible, predict);
  }

  @Override
  public void close() {
    trainer.close();
  }
}
