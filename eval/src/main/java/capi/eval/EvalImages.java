package capi.eval;

import capi.config.BadConfigException;
import capi.config.DataConfig;
import capi.config.Keys;
import capi.data.BatchShape;
import capi.data.BatchSource;
import capi.data.CapiBatch;
import capi.data.Dataset;
import java.util.concurrent.ForkJoinPool;

/**
 * The labelled images of one split in the model's input format, read batch by batch through the
 * data-loader so that they are decoded, resized and normalised as in training, minus the
 * randomness: the crop is the whole image (centre-cropped to the model's aspect when it differs)
 * and nothing is flipped. A limit takes a seeded random subset, the same on every call.
 */
public final class EvalImages {
  /**
   * Receives one batch: its first b images (pixels (b, C, H, W) with their normalisation, labels
   * (b)) are used, the first of them is image number offset.
   */
  public interface BatchConsumer {
    void accept(CapiBatch batch, int b, int offset);
  }

  private final BatchSource source;
  private final int size;
  private final int classes;

  /**
   * @param data the run's data settings (normalisation, loader threads); its crop and flip are replaced
   * @param limit images used; 0 or more than the dataset means all
   */
  public EvalImages(Dataset dataset, BatchShape shape, DataConfig data, int limit, long seed, int batchSize) {
    if (dataset.classes() <= 0) {
      throw BadConfigException.of(Keys.EVAL_DATASET, dataset.describe(0), "has no labels; evaluation needs a labelled dataset");
    }
    double aspect = (double) shape.width() / shape.height();
    DataConfig whole = new DataConfig(
        data.dataset(), data.mean(), data.std(), 1, 1, aspect, aspect, 0, data.loaderThreads(), data.prefetch());
    this.source = new BatchSource(dataset, shape, whole, seed, batchSize);
    this.size = limit <= 0 ? dataset.size() : Math.min(limit, dataset.size());
    this.classes = dataset.classes();
  }

  public int size() {
    return size;
  }

  public int classes() {
    return classes;
  }

  public BatchShape shape() {
    return source.shape();
  }

  /**
   * Calls {@code consumer} for consecutive batches covering the {@link #size} images once: the
   * first positions of one epoch of the seeded sampler, a permutation of the dataset.
   */
  public void forEachBatch(BatchConsumer consumer) {
    int batch = source.globalBatch();
    for (int step = 0; step * batch < size; step++) {
      CapiBatch b = source.batchAsync(step, 0, 1, ForkJoinPool.commonPool()).join();
      consumer.accept(b, Math.min(batch, size - step * batch), step * batch);
    }
  }

  /** The normalised pixels themselves as features (n, C·H·W): the raw-pixel baseline. */
  public FeatureSet pixels() {
    BatchShape s = source.shape();
    int d = s.channels() * s.height() * s.width();
    float[] values = new float[size * d];
    int[] labels = new int[size];
    forEachBatch((batch, b, offset) -> {
      System.arraycopy(batch.normalizedImages(b), 0, values, offset * d, b * d);
      System.arraycopy(batch.labels(), 0, labels, offset, b);
    });
    return new FeatureSet(values, d, labels, classes);
  }
}
