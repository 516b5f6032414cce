package capi.data;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/** JPEG/PNG bytes to a {@link RawImage}; strict: a warning while reading (a truncated JPEG) is an error. */
final class ImageDecoder {
  static {
    ImageIO.setUseCache(false); // decode in memory, never through temporary files
  }

  private ImageDecoder() {}

  static RawImage decode(byte[] bytes) throws IOException {
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) throw new IOException("not a JPEG or PNG image");
      ImageReader reader = readers.next();
      String[] warning = new String[1];
      try {
        reader.setInput(in, true, true);
        reader.addIIOReadWarningListener((source, message) -> warning[0] = message);
        BufferedImage image = reader.read(0);
        if (warning[0] != null) throw new IOException(warning[0]);
        return toRaw(image);
      } catch (RuntimeException e) { // ImageIO reports some corrupt streams this way
        throw new IOException("undecodable image: " + e, e);
      } finally {
        reader.dispose();
      }
    }
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
