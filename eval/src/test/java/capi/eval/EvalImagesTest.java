package capi.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.config.EvalConfig;
import capi.config.Keys;
import capi.data.BatchShape;
import capi.data.Dataset;
import capi.data.Datasets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class EvalImagesTest {
  private static final CapiConfig CONFIG = SmallModel.config(Map.of());

  private static EvalImages images(Dataset d, int limit, int batch) {
    return new EvalImages(d, BatchShape.of(CONFIG.model()), CONFIG.data(), limit, 42, batch);
  }

  @Test
  void aLimitIsASeededSubsetReadInFullBatchesAndOnePartial() {
    Dataset test = Datasets.open("fashion-mnist:test");
    EvalImages images = images(test, 250, 100);
    assertEquals(250, images.size());
    assertEquals(10, images.classes());
    int[] sizes = new int[3];
    images.forEachBatch((batch, b, offset) -> sizes[offset / 100] = b);
    assertArrayEquals(new int[] {100, 100, 50}, sizes);
    FeatureSet a = images.pixels(), b = images(test, 250, 50).pixels();
    assertArrayEquals(a.values(), b.values()); // the same images whatever the batch size
    Set<Integer> classes = new HashSet<>();
    for (int y : a.labels()) classes.add(y);
    assertEquals(10, classes.size()); // a random subset, not the first rows of one class
  }

  @Test
  void pixelsAreNormalisedWithTheRunsStatistics() {
    FeatureSet px = images(Datasets.open("fashion-mnist:test"), 500, 100).pixels();
    assertEquals(28 * 28, px.dim());
    double sum = 0, sq = 0;
    for (float v : px.values()) {
      sum += v;
      sq += v * v;
    }
    double mean = sum / px.values().length, std = Math.sqrt(sq / px.values().length - mean * mean);
    // capi.data.mean/std of the tiny preset are Fashion-MNIST's own statistics.
    assertEquals(0, mean, 0.05);
    assertEquals(1, std, 0.05);
  }

  @Test
  void splitsAreDerivedOrNamed(@TempDir Path dir) throws Exception {
    assertEquals(new EvalSplits("fashion-mnist", "fashion-mnist:test"), EvalSplits.of(eval(Map.of())));
    Files.createDirectories(dir.resolve("train"));
    Files.createDirectories(dir.resolve("test"));
    assertEquals(new EvalSplits("folder:" + dir.resolve("train"), "folder:" + dir.resolve("test")),
        EvalSplits.of(eval(Map.of("eval.dataset", "folder:" + dir))));
    assertEquals(new EvalSplits("idx:/a", "idx:/b"),
        EvalSplits.of(eval(Map.of("eval.dataset", "idx:/a", "eval.test-dataset", "idx:/b"))));
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> EvalSplits.of(eval(Map.of("eval.dataset", "idx:/a"))));
    assertTrue(e.getMessage().startsWith(Keys.EVAL_TEST_DATASET + " = "), e.getMessage());
  }

  @Test
  void refusesAnUnlabelledDataset() {
    Dataset unlabelled = new Dataset() {
      public int size() { return 1; }
      public int channels() { return 1; }
      public int classes() { return 0; }
      public int label(int i) { return -1; }
      public capi.data.RawImage decode(int i) { return new capi.data.RawImage(28, 28, 1, new byte[784]); }
      public String describe(int i) { return "blank"; }
    };
    assertThrows(BadConfigException.class, () -> images(unlabelled, 0, 10));
  }

  private static EvalConfig eval(Map<String, String> o) {
    return SmallModel.config(o).eval();
  }
}
