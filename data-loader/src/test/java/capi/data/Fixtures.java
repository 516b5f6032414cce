package capi.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;

/** Writers of small dataset files for the tests: IDX, PNG/JPEG and ustar shards. */
final class Fixtures {
  private Fixtures() {}

  /** An (n, rows, cols) IDX image file with pixel (i, k) = i·10 + k. */
  static void idxImages(Path file, int n, int rows, int cols, boolean gzip) throws IOException {
    try (DataOutputStream out = new DataOutputStream(open(file, gzip))) {
      out.writeInt(0x803);
      out.writeInt(n);
      out.writeInt(rows);
      out.writeInt(cols);
      for (int i = 0; i < n; i++) for (int k = 0; k < rows * cols; k++) out.write(i * 10 + k);
    }
  }

  static void idxLabels(Path file, int[] labels, boolean gzip) throws IOException {
    try (DataOutputStream out = new DataOutputStream(open(file, gzip))) {
      out.writeInt(0x801);
      out.writeInt(labels.length);
      for (int l : labels) out.write(l);
    }
  }

  private static OutputStream open(Path file, boolean gzip) throws IOException {
    OutputStream raw = Files.newOutputStream(file);
    return gzip ? new GZIPOutputStream(raw) : raw;
  }

  /** A w x h RGB image with pixel (x, y) = (x·20+seed, y·20, x+y). */
  static BufferedImage colour(int w, int h, int seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) img.setRGB(x, y, ((x * 20 + seed) & 255) << 16 | ((y * 20) & 255) << 8 | (x + y));
    }
    return img;
  }

  static BufferedImage grey(int w, int h) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, x * 9 + y);
    return img;
  }

  static byte[] encode(BufferedImage img, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    if (!ImageIO.write(img, format, out)) throw new IOException("no writer for " + format);
    return out.toByteArray();
  }

  /** A ustar archive holding the given members in order. */
  static void tar(Path file, Map<String, byte[]> members) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      for (var m : members.entrySet()) {
        byte[] h = new byte[512];
        put(h, 0, m.getKey());
        put(h, 100, "0000644");
        put(h, 108, "0000000");
        put(h, 116, "0000000");
        put(h, 124, String.format("%011o", m.getValue().length));
        put(h, 136, "00000000000");
        h[156] = '0';
        put(h, 257, "ustar");
        h[262] = 0;
        put(h, 263, "00");
        for (int i = 148; i < 156; i++) h[i] = ' ';
        int sum = 0;
        for (byte b : h) sum += b & 0xff;
        put(h, 148, String.format("%06o", sum));
        h[154] = 0;
        out.write(h);
        out.write(m.getValue());
        out.write(new byte[(512 - m.getValue().length % 512) % 512]);
      }
      out.write(new byte[1024]);
    }
  }

  private static void put(byte[] h, int at, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, at, b.length);
  }
}
