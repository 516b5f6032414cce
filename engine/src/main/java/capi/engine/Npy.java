package capi.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads NumPy .npy files (format 1.0/2.0, little-endian float64/float32/int64, C order). */
public final class Npy {
  private Npy() {}

  /** An array's shape and values (as float64). */
  public record Array(int[] shape, double[] data) {
    public int[] ints() {
      int[] out = new int[data.length];
      for (int i = 0; i < out.length; i++) out[i] = (int) data[i];
      return out;
    }
  }

  private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([<>|]?)([a-z])(\\d+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order':\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

  public static Array read(Path file) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    byte[] magic = new byte[6];
    buf.get(magic);
    if (magic[0] != (byte) 0x93 || !new String(magic, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
      throw new IOException(file + ": not a .npy file");
    }
    int major = buf.get();
    buf.get();
    int headerLen = major == 1 ? Short.toUnsignedInt(buf.getShort()) : buf.getInt();
    byte[] header = new byte[headerLen];
    buf.get(header);
    String h = new String(header, StandardCharsets.US_ASCII);
    Matcher d = DESCR.matcher(h), f = FORTRAN.matcher(h), s = SHAPE.matcher(h);
    if (!d.find() || !f.find() || !s.find()) throw new IOException(file + ": unreadable header " + h);
    if (f.group(1).equals("True")) throw new IOException(file + ": Fortran order is not supported");
    if (d.group(1).equals(">")) throw new IOException(file + ": big-endian data is not supported");
    String[] dims = s.group(1).split(",");
    int count = 0;
    for (String dim : dims) if (!dim.isBlank()) count++;
    int[] shape = new int[count];
    int n = 1;
    for (int i = 0, j = 0; i < dims.length; i++) {
      if (dims[i].isBlank()) continue;
      shape[j] = Integer.parseInt(dims[i].trim());
      n *= shape[j++];
    }
    double[] data = new double[n];
    String type = d.group(2) + d.group(3);
    for (int i = 0; i < n; i++) {
      data[i] = switch (type) {
        case "f8" -> buf.getDouble();
        case "f4" -> buf.getFloat();
        case "i8" -> buf.getLong();
        case "i4" -> buf.getInt();
        default -> throw new IOException(file + ": dtype " + type + " is not supported");
      };
    }
    return new Array(shape, data);
  }
}
