package capi.data;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** JPEG/PNG bytes to a {@link RawImage}; strict: a warning while reading (a truncated JPEG) is an error. */
final class ImageDecoder {
  static {
    ImageIO.setUseCache(false); // decode in memory, never through temporary files
  }

  private ImageDecoder() {}

  // One reader per format and thread: looking readers up per image costs more than decoding
  // a small one.
  private static final ThreadLocal<ImageReader> JPEG = ThreadLocal.withInitial(() -> reader("jpeg"));
  private static final ThreadLocal<ImageReader> PNG = ThreadLocal.withInitial(() -> reader("png"));

  private static ImageReader reader(String format) {
    return ImageIO.getImageReadersByFormatName(format).next();
  }

  static RawImage decode(byte[] bytes) throws IOException {
    ImageReader reader = readerFor(bytes);
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      String[] warning = new String[1];
      reader.setInput(in, true, true);
      reader.removeAllIIOReadWarningListeners();
      reader.addIIOReadWarningListener((source, message) -> warning[0] = message);
      BufferedImage image = reader.read(0);
      if (warning[0] != null) throw new IOException(warning[0]);
      return toRaw(image);
    } catch (RuntimeException e) { // ImageIO reports some corrupt streams this way
      throw new IOException("undecodable image: " + e, e);
    } finally {
      reader.setInput(null);
    }
  }

  /** By the file's magic bytes, not its name. */
  private static ImageReader readerFor(byte[] b) throws IOException {
    if (b.length > 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8) return JPEG.get();
    if (b.length > 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return PNG.get();
    throw new IOException("not a JPEG or PNG image");
  }

  private static RawImage toRaw(BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    switch (image.getType()) {
      case BufferedImage.TYPE_BYTE_GRAY:
        if (image.getRaster().getDataBuffer() instanceof DataBufferByte buffer
            && buffer.getData().length == w * h) {
          return new RawImage(w, h, 1, buffer.getData());
        }
        break;
      case BufferedImage.TYPE_3BYTE_BGR:
        if (image.getRaster().getDataBuffer() instanceof DataBufferByte buffer
            && buffer.getData().length == w * h * 3) {
          byte[] bgr = buffer.getData();
          byte[] rgb = new byte[bgr.length];
          for (int i = 0; i < bgr.length; i += 3) {
            rgb[i] = bgr[i + 2];
            rgb[i + 1] = bgr[i + 1];
            rgb[i + 2] = bgr[i];
          }
          return new RawImage(w, h, 3, rgb);
        }
        break;
      default:
        break;
    }
    // Any other layout (palette, alpha, 16-bit): let Java2D convert to sRGB.
    int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
    byte[] rgb = new byte[w * h * 3];
    for (int i = 0; i < argb.length; i++) {
      rgb[3 * i] = (byte) (argb[i] >> 16);
      rgb[3 * i + 1] = (byte) (argb[i] >> 8);
      rgb[3 * i + 2] = (byte) argb[i];
    }
    return new RawImage(w, h, 3, rgb);
  }
}
