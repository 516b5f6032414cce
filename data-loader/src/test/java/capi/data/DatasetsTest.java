package capi.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.BadConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class DatasetsTest {
  @TempDir Path dir;

  @Test
  void idxGzipWithLabelsRoundTrips() throws IOException {
    Fixtures.idxImages(dir.resolve("train-images-idx3-ubyte.gz"), 5, 3, 4, true);
    Fixtures.idxLabels(dir.resolve("train-labels-idx1-ubyte.gz"), new int[] {3, 1, 4, 1, 5}, true);
    Fixtures.idxImages(dir.resolve("t10k-images-idx3-ubyte"), 2, 3, 4, false); // ignored: train wins
    Dataset d = Datasets.open("idx:" + dir);
    assertEquals(5, d.size());
    assertEquals(1, d.channels());
    assertEquals(6, d.classes());
    assertEquals(4, d.label(2));
    RawImage img = d.decode(2);
    assertEquals(4, img.width());
    assertEquals(3, img.height());
    assertEquals(20 + 7, img.at(1, 3, 0)); // pixel k = 1·4 + 3 of image 2
  }

  @Test
  void idxPlainWithoutLabels() throws IOException {
    Fixtures.idxImages(dir.resolve("extra-images-idx3-ubyte"), 3, 2, 2, false);
    Dataset d = Datasets.open("idx:" + dir);
    assertEquals(3, d.size());
    assertEquals(-1, d.label(0));
    assertEquals(0, d.classes());
  }

  @Test
  void malformedLabelFileFailsAtOpenNamingIt() throws IOException {
    Fixtures.idxImages(dir.resolve("train-images-idx3-ubyte"), 3, 2, 2, false);
    Path labels = dir.resolve("train-labels-idx1-ubyte");
    Fixtures.idxLabels(labels, new int[] {1, 2}, false);
    BadConfigException e = assertThrows(BadConfigException.class, () -> Datasets.open("idx:" + dir));
    assertTrue(e.getMessage().contains(labels.toString()), e.getMessage());
  }

  @Test
  void missingPathsFailAtOpenNamingThem() {
    for (String kind : new String[] {"idx", "folder", "tar"}) {
      String path = dir.resolve("nope").toString() + (kind.equals("tar") ? "/*.tar" : "");
      BadConfigException e = assertThrows(BadConfigException.class, () -> Datasets.open(kind + ":" + path));
      assertTrue(e.getMessage().contains(dir.resolve("nope").toString()), e.getMessage());
    }
    assertThrows(BadConfigException.class, () -> Datasets.open("tar:" + dir + "/*.tar")); // no match
    assertThrows(BadConfigException.class, () -> Datasets.open("imagenet"));
    assertThrows(BadConfigException.class, () -> Datasets.open("synthetic:zero"));
  }

  @Test
  void folderRoundTripsWithSortedClassLabels() throws IOException {
    Path dogs = Files.createDirectories(dir.resolve("b_dog"));
    Path cats = Files.createDirectories(dir.resolve("a_cat"));
    Files.write(cats.resolve("1.png"), Fixtures.encode(Fixtures.colour(5, 4, 7), "png"));
    Files.write(cats.resolve("2.png"), Fixtures.encode(Fixtures.grey(6, 3), "png"));
    Files.write(dogs.resolve("x.jpg"), Fixtures.encode(Fixtures.colour(16, 8, 0), "jpg"));
    Files.writeString(dogs.resolve("notes.txt"), "not an image");
    Dataset d = Datasets.open("folder:" + dir);
    assertEquals(3, d.size());
    assertEquals(2, d.classes());
    assertArrayEquals(new int[] {0, 0, 1}, new int[] {d.label(0), d.label(1), d.label(2)});
    RawImage colour = d.decode(0);
    assertEquals(3, colour.channels());
    assertEquals(3 * 20 + 7, colour.at(2, 3, 0));
    assertEquals(2 * 20, colour.at(2, 3, 1));
    assertEquals(5, colour.at(2, 3, 2));
    RawImage grey = d.decode(1);
    assertEquals(1, grey.channels());
    assertEquals(4 * 9 + 2, grey.at(2, 4, 0));
    RawImage jpeg = d.decode(2);
    assertEquals(16, jpeg.width());
    assertEquals(8, jpeg.height());
    assertEquals(5 * 20, jpeg.at(4, 5, 0), 12); // lossy
  }

  @Test
  void corruptAndTruncatedFilesAreSkippedAndCounted() throws IOException {
    Path c = Files.createDirectories(dir.resolve("only"));
    for (int i = 0; i < 6; i++) Files.write(c.resolve(i + ".png"), Fixtures.encode(Fixtures.colour(8, 8, i), "png"));
    byte[] png = Fixtures.encode(Fixtures.colour(32, 32, 1), "png");
    byte[] jpg = Fixtures.encode(Fixtures.colour(64, 64, 1), "jpg");
    Files.write(c.resolve("t1.png"), Arrays.copyOf(png, png.length / 2));
    Files.write(c.resolve("t2.jpg"), Arrays.copyOf(jpg, jpg.length / 2));
    Files.writeString(c.resolve("t3.jpg"), "garbage, not a JPEG");
    Dataset d = Datasets.open("folder:" + dir);
    assertEquals(9, d.size());
    for (int i = 6; i < 9; i++) {
      int k = i;
      assertThrows(IOException.class, () -> d.decode(k), d.describe(k));
    }
    long before = DataCounters.skippedImages();
    BatchSource s = BatchSourceTest.source(d, 0, 9);
    for (int step = 0; step < 4; step++) assertEquals(9, s.batch(step, 0, 1).labels().length);
    assertEquals(3, DataCounters.skippedImages() - before);
  }

  @Test
  void tarShardsRoundTripWithLabels() throws IOException {
    byte[] a = Fixtures.encode(Fixtures.colour(6, 5, 1), "png");
    byte[] b = Fixtures.encode(Fixtures.colour(7, 3, 2), "png");
    byte[] c = Fixtures.encode(Fixtures.grey(4, 4), "png");
    Map<String, byte[]> shard0 = new LinkedHashMap<>();
    shard0.put("s/000.png", a);
    shard0.put("s/000.cls", "2\n".getBytes(StandardCharsets.US_ASCII));
    shard0.put("s/001.cls", "0".getBytes(StandardCharsets.US_ASCII));
    shard0.put("s/001.png", b);
    shard0.put("s/002.json", "{}".getBytes(StandardCharsets.US_ASCII)); // no image: not a sample
    Fixtures.tar(dir.resolve("shard-000.tar"), shard0);
    Fixtures.tar(dir.resolve("shard-001.tar"), Map.of("k.png", c));
    Fixtures.tar(dir.resolve("other.tar"), Map.of("z.png", c));
    Dataset d = Datasets.open("tar:" + dir + "/shard-*.tar");
    assertEquals(3, d.size());
    assertEquals(3, d.classes());
    assertArrayEquals(new int[] {2, 0, -1}, new int[] {d.label(0), d.label(1), d.label(2)});
    RawImage first = d.decode(0);
    assertEquals(6, first.width());
    assertEquals(2 * 20 + 1, first.at(4, 2, 0));
    assertEquals(7, d.decode(1).width());
    assertEquals(1, d.decode(2).channels());
    assertTrue(d.describe(1).endsWith("shard-000.tar:s/001.png"), d.describe(1));
  }

  @Test
  void tarMalformedLabelFailsAtOpenAndTruncatedShardKeepsItsHead() throws IOException {
    byte[] png = Fixtures.encode(Fixtures.colour(6, 5, 1), "png");
    Fixtures.tar(dir.resolve("bad.tar"), Map.of("a.png", png, "a.cls", "cat".getBytes(StandardCharsets.US_ASCII)));
    BadConfigException e = assertThrows(BadConfigException.class, () -> Datasets.open("tar:" + dir + "/bad.tar"));
    assertTrue(e.getMessage().contains("bad.tar") && e.getMessage().contains("a.cls"), e.getMessage());

    Map<String, byte[]> members = new LinkedHashMap<>();
    members.put("0.png", png);
    members.put("1.png", Fixtures.encode(Fixtures.colour(60, 50, 1), "png"));
    Path whole = dir.resolve("whole.tar");
    Fixtures.tar(whole, members);
    byte[] bytes = Files.readAllBytes(whole);
    Files.write(dir.resolve("cut.tar"), Arrays.copyOf(bytes, 512 + 1024 + 100)); // inside member 1
    long before = DataCounters.skippedImages();
    Dataset d = Datasets.open("tar:" + dir + "/cut.tar");
    assertEquals(1, d.size());
    assertEquals(1, DataCounters.skippedImages() - before);
  }

  @Test
  void syntheticIsDeterministic() throws IOException {
    Dataset d = Datasets.open("synthetic:100");
    assertEquals(100, d.size());
    assertEquals(3, d.channels());
    assertEquals(7, d.label(17));
    assertArrayEquals(d.decode(42).pixels(), Datasets.open("synthetic:100").decode(42).pixels());
  }

  @Test
  void fashionMnistSplits() throws IOException {
    Dataset train = Datasets.open("fashion-mnist");
    assertEquals(60000, train.size());
    assertEquals(10, train.classes());
    RawImage img = train.decode(0);
    assertEquals(28, img.width());
    assertEquals(28, img.height());
    assertEquals(10000, Datasets.open("fashion-mnist:test").size());
    assertThrows(BadConfigException.class, () -> Datasets.open("fashion-mnist:valid"));
  }
}
