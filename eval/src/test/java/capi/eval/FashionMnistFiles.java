package capi.eval;

import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Test-only access to the Fashion-MNIST IDX files of this machine, as raw-pixel features in
 * [0, 1]; main code reads datasets through the data-loader.
 */
final class FashionMnistFiles {
  static final Path DIR = Path.of("/usr/share/datasets/fashion-mnist");

  private FashionMnistFiles() {}

  static boolean present() {
    return Files.isRegularFile(DIR.resolve("train-images-idx3-ubyte.gz"));
  }

  /** The first {@code limit} images of a split ("train" or "t10k") as (n, 784) pixels. */
  static FeatureSet pixels(String split, int limit) throws IOException {
    try (DataInputStream images = open(split + "-images-idx3-ubyte.gz", 2051);
        DataInputStream labels = open(split + "-labels-idx1-ubyte.gz", 2049)) {
      int n = Math.min(limit, images.readInt());
      labels.readInt();
      int d = images.readInt() * images.readInt();
      byte[] raw = new byte[n * d];
      images.readFully(raw);
      float[] x = new float[n * d];
      for (int i = 0; i < raw.length; i++) x[i] = (raw[i] & 0xff) / 255f;
      byte[] rawLabels = new byte[n];
      labels.readFully(rawLabels);
      int[] y = new int[n];
      for (int i = 0; i < n; i++) y[i] = rawLabels[i];
      return new FeatureSet(x, d, y, 10);
    }
  }

  private static DataInputStream open(String file, int magic) throws IOException {
    DataInputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(DIR.resolve(file)), 1 << 16));
    if (in.readInt() != magic) throw new IOException(file + ": not an IDX file");
    return in;
  }
}
