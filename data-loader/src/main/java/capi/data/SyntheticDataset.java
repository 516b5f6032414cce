package capi.data;

/** Generated colour images (deterministic in the index), for benchmarks without files. */
final class SyntheticDataset implements Dataset {
  static final int SIDE = 64;
  static final int CLASSES = 10;
  private final int count;

  SyntheticDataset(int count) {
    this.count = count;
  }

  @Override
  public int size() {
    return count;
  }

  @Override
  public int channels() {
    return 3;
  }

  @Override
  public int classes() {
    return CLASSES;
  }

  @Override
  public int label(int i) {
    return i % CLASSES;
  }

  /** Oriented stripes whose frequency and direction depend on the label, plus per-index colour. */
  @Override
  public RawImage decode(int i) {
    byte[] px = new byte[SIDE * SIDE * 3];
    int fx = 1 + label(i);
    int fy = 1 + (i * 7) % 5;
    int shift = (int) ((i * 2654435761L) & 255); // Knuth's multiplicative hash
    for (int y = 0; y < SIDE; y++) {
      for (int x = 0; x < SIDE; x++) {
        int o = (y * SIDE + x) * 3;
        px[o] = (byte) (fx * x * 4 + shift);
        px[o + 1] = (byte) (fy * y * 4 + shift / 2);
        px[o + 2] = (byte) ((x + y) * 2 + shift / 3);
      }
    }
    return new RawImage(SIDE, SIDE, 3, px);
  }

  @Override
  public String describe(int i) {
    return "synthetic#" + i;
  }
}
