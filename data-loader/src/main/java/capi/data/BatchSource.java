package capi.data;

import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.config.DataConfig;
import capi.config.Keys;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;

/**
 * The deterministic maker of CAPI batches. The global batch of step s is the samples at positions
 * [s·Bg, (s+1)·Bg) of the {@link EpochSampler}'s infinite sequence; rank r of W gets the contiguous
 * slice [r·Bg/W, (r+1)·Bg/W). Nothing depends on earlier calls, so resuming at step s is asking
 * for step s, and the global batch is the same whatever the number of ranks or threads.
 */
public final class BatchSource {
  private static final int CHUNK = 8; // samples per parallel task
  private static final int MAX_REPLACEMENTS = 1000;

  private final Dataset dataset;
  private final BatchShape shape;
  private final int globalBatch;
  private final EpochSampler sampler;
  private final Augmenter augmenter;
  private final double[] mean;
  private final double[] std;
  private final InverseBlockMasking masking;
  private final Set<Integer> unreadable = ConcurrentHashMap.newKeySet();

  public BatchSource(Dataset dataset, BatchShape shape, DataConfig config, long seed, int globalBatch) {
    if (globalBatch <= 0) throw BadConfigException.of(Keys.TRAIN_BATCH_SIZE, globalBatch, "must be a positive integer");
    this.dataset = dataset;
    this.shape = shape;
    this.globalBatch = globalBatch;
    this.sampler = new EpochSampler(dataset.size(), seed);
    this.augmenter = new Augmenter(shape, config);
    this.mean = Augmenter.perChannel(config.mean(), Keys.DATA_MEAN, shape.channels());
    this.std = Augmenter.perChannel(config.std(), Keys.DATA_STD, shape.channels());
    this.masking = new InverseBlockMasking(shape);
  }

  /** Opens the run's dataset; the shape from its model, seed and global batch from its train section. */
  public static BatchSource of(CapiConfig c) {
    return new BatchSource(Datasets.open(c.data().dataset()), BatchShape.of(c.model()), c.data(),
        c.train().seed(), c.train().batchSize());
  }

  public Dataset dataset() {
    return dataset;
  }

  public BatchShape shape() {
    return shape;
  }

  public int globalBatch() {
    return globalBatch;
  }

  /** This rank's B = Bg / W. */
  public int localBatch(int worldSize) {
    if (worldSize <= 0 || globalBatch % worldSize != 0) {
      throw BadConfigException.of(Keys.TRAIN_BATCH_SIZE, globalBatch,
          "the global batch must be divisible by the number of workers (" + worldSize + ")");
    }
    return globalBatch / worldSize;
  }

  /** Rank's share of step's global batch, prepared on the calling thread. */
  public CapiBatch batch(long step, int rank, int worldSize) {
    return batchAsync(step, rank, worldSize, Runnable::run).join();
  }

  /** The same batch, its samples prepared in parallel chunks on executor. */
  public CompletableFuture<CapiBatch> batchAsync(long step, int rank, int worldSize, Executor executor) {
    int b = localBatch(worldSize);
    if (rank < 0 || rank >= worldSize) throw new IllegalArgumentException("rank " + rank + " of " + worldSize);
    if (step < 0) throw new IllegalArgumentException("step " + step);
    long first = step * globalBatch + (long) rank * b;
    CapiBatch out = new CapiBatch(step, b, shape.channels(), shape.height(), shape.width(),
        new byte[b * shape.imagePixels()], mean.clone(), std.clone(), new int[b * shape.visible()],
        new int[b * shape.predicted()], new int[b]);
    List<CompletableFuture<Void>> chunks = new ArrayList<>();
    for (int from = 0; from < b; from += CHUNK) {
      int lo = from;
      int hi = Math.min(b, from + CHUNK);
      chunks.add(CompletableFuture.runAsync(() -> {
        for (int i = lo; i < hi; i++) fill(out, i, first + i);
      }, executor));
    }
    return CompletableFuture.allOf(chunks.toArray(CompletableFuture[]::new)).thenApply(v -> out);
  }

  /**
   * Sample at position p into row i of the batch; draws: crop, flip, mask, prediction subset. An
   * unreadable image is replaced by the next readable one; when none of the next MAX_REPLACEMENTS
   * is readable the dataset is bad input (BadConfigException).
   */
  private void fill(CapiBatch out, int i, long p) {
    SplittableRandom r = sampler.random(p);
    int index = sampler.index(p);
    for (int k = 0; k < MAX_REPLACEMENTS; k++) {
      int candidate = (int) ((index + (long) k) % dataset.size());
      if (unreadable.contains(candidate)) continue;
      try {
        RawImage img = dataset.decode(candidate);
        augmenter.apply(img, r, out.pixels(), i * shape.imagePixels());
        out.labels()[i] = dataset.label(candidate);
        masking.write(r, i, out.visibleIndices(), out.predictIndices());
        return;
      } catch (IOException e) {
        // A bad file is replaced by the next readable one: deterministic, and logged once.
        if (unreadable.add(candidate)) DataCounters.skipped(dataset.describe(candidate), e.getMessage());
      }
    }
    throw new BadConfigException(dataset.describe(index) + " and the next " + (Math.min(MAX_REPLACEMENTS, dataset.size()) - 1)
        + " samples: not one readable image (each is corrupt, truncated or unreadable); check the dataset ("
        + Keys.DATA_DATASET + ")");
  }
}
