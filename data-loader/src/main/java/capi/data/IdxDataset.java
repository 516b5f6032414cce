package capi.data;

import capi.config.BadConfigException;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * An IDX image file (MNIST layout: unsigned bytes, N x rows x cols, grey) and its label file when
 * present, each gzip-compressed or plain. Held in memory: Fashion-MNIST's train split is 47 MB.
 */
final class IdxDataset implements Dataset {
  private static final int IMAGES_MAGIC = 0x00000803; // unsigned byte, 3 dimensions
  private static final int LABELS_MAGIC = 0x00000801; // unsigned byte, 1 dimension

  private final Path imagesFile;
  private final int count;
  private final int rows;
  private final int cols;
  private final byte[] pixels; // (count, rows, cols)
  private final byte[] labels; // (count) or null
  private final int classes;

  private IdxDataset(Path imagesFile, int count, int rows, int cols, byte[] pixels, byte[] labels) {
    this.imagesFile = imagesFile;
    this.count = count;
    this.rows = rows;
    this.cols = cols;
    this.pixels = pixels;
    this.labels = labels;
    int max = -1;
    if (labels != null) for (byte b : labels) max = Math.max(max, b & 0xff);
    this.classes = max + 1;
  }

  /**
   * Opens PREFIX-images-idx3-ubyte[.gz] in dir and PREFIX-labels-idx1-ubyte[.gz] if it exists.
   * A null prefix picks "train" when present, else the only images file of the directory.
   */
  static IdxDataset open(Path dir, String prefix) {
    if (!Files.isDirectory(dir)) throw new BadConfigException(dir + ": no such dataset directory");
    String stem = prefix != null ? prefix : pickPrefix(dir);
    Path images = find(dir, stem + "-images-idx3-ubyte");
    if (images == null) throw new BadConfigException(dir + ": no " + stem + "-images-idx3-ubyte[.gz] file");
    Path labelFile = find(dir, stem + "-labels-idx1-ubyte");
    try (DataInputStream in = open(images)) {
      int magic = in.readInt();
      if (magic != IMAGES_MAGIC) throw malformed(images, "magic " + Integer.toHexString(magic) + " is not an IDX image file");
      int n = in.readInt();
      int r = in.readInt();
      int c = in.readInt();
      if (n <= 0 || r <= 0 || c <= 0 || (long) n * r * c > Integer.MAX_VALUE) {
        throw malformed(images, "bad dimensions " + n + "x" + r + "x" + c);
      }
      byte[] px = new byte[n * r * c];
      in.readFully(px);
      byte[] lab = labelFile == null ? null : readLabels(labelFile, n);
      return new IdxDataset(images, n, r, c, px, lab);
    } catch (EOFException e) {
      throw malformed(images, "truncated");
    } catch (IOException e) {
      throw malformed(images, e.toString());
    }
  }

  private static byte[] readLabels(Path file, int expected) {
    try (DataInputStream in = open(file)) {
      int magic = in.readInt();
      if (magic != LABELS_MAGIC) throw malformed(file, "magic " + Integer.toHexString(magic) + " is not an IDX label file");
      int n = in.readInt();
      if (n != expected) throw malformed(file, n + " labels for " + expected + " images");
      byte[] lab = new byte[n];
      in.readFully(lab);
      return lab;
    } catch (EOFException e) {
      throw malformed(file, "truncated");
    } catch (IOException e) {
      throw malformed(file, e.toString());
    }
  }

  private static String pickPrefix(Path dir) {
    if (find(dir, "train-images-idx3-ubyte") != null) return "train";
    try (var files = Files.list(dir)) {
      var stems = files.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith("-images-idx3-ubyte") || n.endsWith("-images-idx3-ubyte.gz"))
          .map(n -> n.substring(0, n.indexOf("-images-idx3-ubyte")))
          .distinct().toList();
      if (stems.size() != 1) {
        throw new BadConfigException(dir + ": expected one *-images-idx3-ubyte[.gz] file (or train-*), found " + stems);
      }
      return stems.get(0);
    } catch (IOException e) {
      throw new BadConfigException(dir + ": " + e);
    }
  }

  private static Path find(Path dir, String name) {
    for (Path p : new Path[] {dir.resolve(name), dir.resolve(name + ".gz")}) {
      if (Files.isRegularFile(p)) return p;
    }
    return null;
  }

  /** Gzip is recognised by its magic bytes, not by the file name. */
  private static DataInputStream open(Path file) throws IOException {
    InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    raw.mark(2);
    boolean gzip = raw.read() == 0x1f && raw.read() == 0x8b;
    raw.reset();
    return new DataInputStream(new BufferedInputStream(gzip ? new GZIPInputStream(raw, 1 << 16) : raw, 1 << 16));
  }

  private static BadConfigException malformed(Path file, String why) {
    return new BadConfigException(file + ": malformed IDX file: " + why);
  }

  @Override
  public int size() {
    return count;
  }

  @Override
  public int channels() {
    return 1;
  }

  @Override
  public int classes() {
    return classes;
  }

  @Override
  public int label(int i) {
    return labels == null ? -1 : labels[i] & 0xff;
  }

  @Override
  public RawImage decode(int i) {
    int n = rows * cols;
    byte[] px = new byte[n];
    System.arraycopy(pixels, i * n, px, 0, n);
    return new RawImage(cols, rows, 1, px);
  }

  @Override
  public String describe(int i) {
    return imagesFile + "#" + i;
  }
}
