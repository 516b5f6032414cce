package capi.data;

/**
 * A decoded image as 8-bit pixels.
 *
 * @param pixels (height, width, channels) interleaved, row-major; channels is 1 (grey) or 3 (RGB)
 */
public record RawImage(int width, int height, int channels, byte[] pixels) {
  public RawImage {
    if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3: " + channels);
    if (pixels.length != width * height * channels) {
      throw new IllegalArgumentException("pixels: " + pixels.length + " != " + width + "x" + height + "x" + channels);
    }
  }

  /** The value of channel c at (y, x) in [0, 255]. */
  int at(int y, int x, int c) {
    return pixels[(y * width + x) * channels + c] & 0xff;
  }
}
