package capi.cli;

import capi.config.CapiConfig;
import capi.config.DataConfig;
import capi.config.Overrides;
import capi.data.BatchSource;
import capi.data.DataCounters;
import capi.data.Dataset;
import capi.data.Datasets;
import capi.data.RawImage;
import capi.monitoring.JsonLine;
import com.sun.management.OperatingSystemMXBean;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.imageio.ImageIO;

/**
 * `capi bench --what data [--dataset SPEC] [--preset P] [--batch-size B] [--steps N]`: how fast the
 * data path makes whole CAPI batches (decode, RandomResizedCrop, flip, normalise, masks) for the
 * model of the preset, with 1 loader thread and with capi.data.loader-threads threads.
 *
 * <p>{@code --dataset folder:DIR} with a DIR that does not exist first writes 2,000 Fashion-MNIST
 * training images there as JPEG files (DIR/LABEL/INDEX.jpg), so the JPEG path can be measured
 * without an ImageNet copy; an existing DIR is used as it is.
 */
final class DataBench {
  private static final int JPEG_IMAGES = 2000;
  private static final int WARMUP_STEPS = 5;

  private DataBench() {}

  static int run(BenchCommand options) throws Exception {
    CapiConfig config = options.common.load(
        Overrides.none().preset(options.preset).dataset(options.dataset).batchSize(options.batchSize));
    DataConfig data = config.data();
    int steps = options.steps == null ? 100 : options.steps;
    if (steps < 1) {
      System.err.println("capi: --steps " + steps + ": must be >= 1");
      return Main.EXIT_BAD_INPUT;
    }
    if (data.dataset().startsWith("folder:")) {
      Path dir = Path.of(data.dataset().substring("folder:".length()));
      if (!Files.exists(dir)) writeJpegsFromFashionMnist(dir);
    }
    BatchSource source = BatchSource.of(config);
    int threads = data.loaderThreads();
    Rate one = measure(source, 1, steps);
    Rate all = threads == 1 ? one : measure(source, threads, steps);
    var shape = source.shape();
    // img_per_cpu_s (images per CPU second of the whole process, JIT and GC included) stays
    // meaningful on a machine whose cores other processes share.
    options.finish(JsonLine.event("bench").add("what", "data").add("dataset", data.dataset())
        .add("images", source.dataset().size())
        .add("image", shape.channels() + "x" + shape.height() + "x" + shape.width())
        .add("batch_size", source.globalBatch()).add("steps", steps).add("threads", threads)
        .add("img_per_s", all.perSecond(), "%.1f").add("img_per_s_per_thread", all.perSecond() / threads, "%.1f")
        .add("img_per_s_one_thread", one.perSecond(), "%.1f").add("img_per_cpu_s", all.perCpuSecond(), "%.1f")
        .add("skipped_images", DataCounters.skippedImages()));
    return Main.EXIT_OK;
  }

  /** Images per wall-clock second and per CPU second of this process. */
  private record Rate(double perSecond, double perCpuSecond) {}

  /** Whole global batches made one after another, each split over the pool's threads. */
  private static Rate measure(BatchSource source, int threads, int steps) {
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int s = 0; s < WARMUP_STEPS; s++) source.batchAsync(s, 0, 1, pool).join();
      long t0 = System.nanoTime();
      long cpu0 = os.getProcessCpuTime();
      for (int s = 0; s < steps; s++) source.batchAsync(WARMUP_STEPS + s, 0, 1, pool).join();
      double seconds = (System.nanoTime() - t0) / 1e9;
      double cpuSeconds = (os.getProcessCpuTime() - cpu0) / 1e9;
      double images = (double) steps * source.globalBatch();
      return new Rate(images / seconds, images / cpuSeconds);
    } finally {
      pool.shutdownNow();
    }
  }

  private static void writeJpegsFromFashionMnist(Path dir) throws IOException {
    System.err.println("capi: " + dir + " does not exist; writing " + JPEG_IMAGES
        + " Fashion-MNIST images there as JPEG (DIR/LABEL/INDEX.jpg)");
    Dataset fashion = Datasets.open("fashion-mnist");
    for (int i = 0; i < JPEG_IMAGES; i++) {
      RawImage raw = fashion.decode(i);
      BufferedImage img = new BufferedImage(raw.width(), raw.height(), BufferedImage.TYPE_BYTE_GRAY);
      img.getRaster().setDataElements(0, 0, raw.width(), raw.height(), raw.pixels());
      Path file = dir.resolve(Integer.toString(fashion.label(i))).resolve(i + ".jpg");
      Files.createDirectories(file.getParent());
      if (!ImageIO.write(img, "jpg", file.toFile())) throw new IOException("no JPEG writer");
    }
  }
}
