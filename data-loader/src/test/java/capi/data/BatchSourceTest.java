package capi.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.BadConfigException;
import capi.config.DataConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class BatchSourceTest {
  static final BatchShape SHAPE = new BatchShape(8, 12, 3, 2, 0.65, 0.25); // 4x6 grid, V=9, P=3

  static DataConfig config(double[] mean, double[] std) {
    return new DataConfig("test", mean, std, 0.6, 1.0, 3 / 4.0, 4 / 3.0, 0.5, 2, 2);
  }

  static BatchSource source(Dataset d, long seed, int globalBatch) {
    return new BatchSource(d, SHAPE, config(new double[] {0.5}, new double[] {0.25}), seed, globalBatch);
  }

  @Test
  void batchHasTheContractShapes() {
    CapiBatch b = source(new MemoryDataset(50), 1, 6).batch(3, 1, 2);
    assertEquals(3, b.step());
    assertEquals(3, b.batch());
    assertEquals(3 * 3 * 8 * 12, b.pixels().length);
    assertEquals(3 * SHAPE.visible(), b.visibleIndices().length);
    assertEquals(3 * SHAPE.predicted(), b.predictIndices().length);
    assertEquals(3, b.labels().length);
  }

  @Test
  void resumingAtAStepSeesWhatTheUninterruptedRunSaw() {
    Dataset d = new MemoryDataset(20);
    BatchSource run = source(d, 5, 8);
    List<CapiBatch> uninterrupted = new ArrayList<>();
    for (int s = 0; s < 7; s++) uninterrupted.add(run.batch(s, 0, 1)); // crosses two epoch boundaries
    BatchSource resumed = source(d, 5, 8);
    for (int s = 4; s < 7; s++) assertSame(uninterrupted.get(s), resumed.batch(s, 0, 1));
    assertFalse(Arrays.equals(uninterrupted.get(0).pixels(), uninterrupted.get(1).pixels()));
  }

  @Test
  void globalBatchIsTheSameForOneTwoOrThreeRanks() {
    BatchSource s = source(new MemoryDataset(30), 9, 12);
    for (long step : new long[] {0, 2, 5}) {
      CapiBatch whole = s.batch(step, 0, 1);
      for (int world : new int[] {2, 3}) {
        List<CapiBatch> parts = new ArrayList<>();
        for (int r = 0; r < world; r++) parts.add(s.batch(step, r, world));
        assertSame(whole, concat(parts));
      }
    }
  }

  @Test
  void globalBatchIsTheSameForOneOrFourLoaderThreads() throws Exception {
    BatchSource s = source(new MemoryDataset(40), 3, 24);
    ExecutorService one = Executors.newFixedThreadPool(1);
    ExecutorService four = Executors.newFixedThreadPool(4);
    try {
      for (long step = 0; step < 4; step++) {
        assertSame(s.batchAsync(step, 0, 1, one).get(), s.batchAsync(step, 0, 1, four).get());
        assertSame(s.batch(step, 1, 2), s.batchAsync(step, 1, 2, four).get());
      }
    } finally {
      one.shutdownNow();
      four.shutdownNow();
      assertTrue(four.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void ranksPartitionEveryEpoch() {
    int size = 24;
    BatchSource s = source(new MemoryDataset(size), 11, 6);
    for (int world : new int[] {2, 3}) {
      List<Integer> previous = null;
      for (int epoch = 0; epoch < 3; epoch++) {
        List<Integer> seen = new ArrayList<>();
        for (int step = epoch * 4; step < (epoch + 1) * 4; step++) {
          for (int r = 0; r < world; r++) {
            for (int label : s.batch(step, r, world).labels()) seen.add(label);
          }
        }
        assertEquals(size, new HashSet<>(seen).size(), "every sample exactly once in epoch " + epoch);
        assertEquals(size, seen.size());
        assertNotEquals(previous, seen, "each epoch has its own order");
        previous = seen;
      }
    }
  }

  @Test
  void globalBatchMustDivideByTheWorld() {
    BatchSource s = source(new MemoryDataset(30), 0, 12);
    BadConfigException e = assertThrows(BadConfigException.class, () -> s.batch(0, 0, 5));
    assertTrue(e.getMessage().contains("divisible"), e.getMessage());
  }

  @Test
  void corruptImagesAreSkippedCountedOnceAndReplacedDeterministically() {
    Set<Integer> bad = Set.of(2, 3, 17);
    Dataset d = new MemoryDataset(20, 12, 3, bad);
    long before = DataCounters.skippedImages();
    BatchSource s = source(d, 4, 10);
    List<CapiBatch> first = new ArrayList<>();
    for (int step = 0; step < 6; step++) {
      CapiBatch b = s.batch(step, 0, 1);
      first.add(b);
      for (int label : b.labels()) assertFalse(bad.contains(label), "a corrupt image was used");
    }
    assertEquals(bad.size(), DataCounters.skippedImages() - before, "each bad file counted once");
    BatchSource again = source(d, 4, 10);
    for (int step = 0; step < 6; step++) assertSame(first.get(step), again.batch(step, 0, 1));
  }

  @Test
  void aConstantImageStaysConstantAndIsNormalised() {
    byte[] grey = new byte[10 * 7];
    Arrays.fill(grey, (byte) 51); // 0.2
    Dataset d = new SingleImage(new RawImage(10, 7, 1, grey));
    BatchShape shape = new BatchShape(8, 8, 3, 4, 0.65, 0.25);
    BatchSource s = new BatchSource(d, shape,
        config(new double[] {0.1, 0.2, 0.3}, new double[] {0.5, 0.5, 0.25}), 0, 2);
    CapiBatch b = s.batch(0, 0, 1);
    for (byte p : b.pixels()) assertEquals(51, p & 0xFF, "the resampled constant stays 51 exactly");
    float[] img = b.normalizedImages(1);
    float[] expected = {(0.2f - 0.1f) / 0.5f, 0f, (0.2f - 0.3f) / 0.25f}; // grey replicated to 3 channels
    for (int i = 0; i < img.length; i++) assertEquals(expected[(i / 64) % 3], img[i], 1e-5, "pixel " + i);
  }

  /** PIL stores a resampled value as floor(v + 0.5), clamped to 8 bits. */
  @Test
  void pixelsAreQuantisedAsPilStoresThem() {
    assertEquals(128, Augmenter.quantise(127.5));
    assertEquals(127, Augmenter.quantise(127.49));
    assertEquals(0, Augmenter.quantise(-3.2), "bicubic overshoot below 0 clamps");
    assertEquals(255, Augmenter.quantise(300), "and above 255");
  }

  @Test
  void colourToGreyUsesLuma() {
    byte[] rgb = new byte[6 * 6 * 3];
    for (int i = 0; i < rgb.length; i += 3) {
      rgb[i] = (byte) 255; // pure red
    }
    Dataset d = new SingleImage(new RawImage(6, 6, 3, rgb));
    BatchShape shape = new BatchShape(4, 4, 1, 2, 0.5, 0.5);
    byte[] img = new BatchSource(d, shape, config(new double[] {0}, new double[] {1}), 0, 1).batch(0, 0, 1).pixels();
    for (byte v : img) assertEquals(76, v & 0xFF, "PIL's L of pure red: (19595·255 + 2^15) >> 16");
  }

  @Test
  void eachPositionDrawsItsOwnCropFlipAndMask() {
    byte[] px = new byte[64 * 64 * 3];
    for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7 + i / 192);
    BatchSource s = new BatchSource(new SingleImage(new RawImage(64, 64, 3, px)), SHAPE,
        config(new double[] {0.5}, new double[] {0.25}), 2, 50);
    CapiBatch a = s.batch(0, 0, 1);
    Set<String> views = new HashSet<>();
    Set<String> masks = new HashSet<>();
    int floats = SHAPE.imagePixels();
    int v = SHAPE.visible();
    int n = SHAPE.patches();
    for (int i = 0; i < 50; i++) {
      views.add(Arrays.toString(Arrays.copyOfRange(a.pixels(), i * floats, (i + 1) * floats)));
      masks.add(Arrays.toString(Arrays.stream(a.visibleIndices(), i * v, (i + 1) * v).map(k -> k % n).toArray()));
    }
    assertEquals(50, views.size(), "the same image gets 50 different views");
    assertTrue(masks.size() > 10, "masks vary: " + masks.size());
  }

  static void assertSame(CapiBatch expected, CapiBatch actual) {
    assertEquals(expected.step(), actual.step());
    assertEquals(expected.batch(), actual.batch());
    assertArrayEquals(expected.pixels(), actual.pixels());
    assertArrayEquals(expected.mean(), actual.mean());
    assertArrayEquals(expected.std(), actual.std());
    assertArrayEquals(expected.visibleIndices(), actual.visibleIndices());
    assertArrayEquals(expected.predictIndices(), actual.predictIndices());
    assertArrayEquals(expected.labels(), actual.labels());
  }

  /** Rank slices back into one global batch: indices of rank r move by r·B·N. */
  static CapiBatch concat(List<CapiBatch> parts) {
    int n = SHAPE.patches();
    int b = parts.get(0).batch();
    byte[] images = new byte[0];
    int[] vis = new int[0];
    int[] pred = new int[0];
    int[] labels = new int[0];
    for (int r = 0; r < parts.size(); r++) {
      CapiBatch p = parts.get(r);
      images = join(images, p.pixels());
      int shift = r * b * n;
      vis = join(vis, Arrays.stream(p.visibleIndices()).map(i -> i + shift).toArray());
      pred = join(pred, Arrays.stream(p.predictIndices()).map(i -> i + shift).toArray());
      labels = join(labels, p.labels());
    }
    CapiBatch f = parts.get(0);
    return new CapiBatch(f.step(), b * parts.size(), f.channels(), f.height(), f.width(), images, f.mean(), f.std(), vis,
        pred, labels);
  }

  private static byte[] join(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static int[] join(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** A one-image dataset. */
  private record SingleImage(RawImage image) implements Dataset {
    public int size() {
      return 1;
    }

    public int channels() {
      return image.channels();
    }

    public int classes() {
      return 0;
    }

    public int label(int i) {
      return -1;
    }

    public RawImage decode(int i) {
      return image;
    }

    public String describe(int i) {
      return "single";
    }
  }
}
