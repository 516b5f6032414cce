package capi.data;

import java.io.IOException;
import java.util.Set;

/** Test images held in memory: label(i) = i reveals which sample went where; some may be "corrupt". */
final class MemoryDataset implements Dataset {
  private final int size;
  private final int side;
  private final int channels;
  private final Set<Integer> corrupt;

  MemoryDataset(int size, int side, int channels, Set<Integer> corrupt) {
    this.size = size;
    this.side = side;
    this.channels = channels;
    this.corrupt = corrupt;
  }

  MemoryDataset(int size) {
    this(size, 12, 3, Set.of());
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public int channels() {
    return channels;
  }

  @Override
  public int classes() {
    return size;
  }

  @Override
  public int label(int i) {
    return i;
  }

  @Override
  public RawImage decode(int i) throws IOException {
    if (corrupt.contains(i)) throw new IOException("corrupt test image " + i);
    byte[] px = new byte[side * side * channels];
    for (int k = 0; k < px.length; k++) px[k] = (byte) (k * 13 + i * 29);
    return new RawImage(side, side, channels, px);
  }

  @Override
  public String describe(int i) {
    return "memory#" + i;
  }
}
