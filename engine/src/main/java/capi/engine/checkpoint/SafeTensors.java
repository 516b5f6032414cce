package capi.engine.checkpoint;

import capi.engine.NamedTensor;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors file format (float32 only), readable by PyTorch's safetensors package.
 *
 * <pre>
 * offset 0   u64 little-endian  header length H
 * offset 8   H bytes UTF-8 JSON {"NAME": {"dtype":"F32","shape":[...],"data_offsets":[begin,end]}, ...,
 *                                "__metadata__": {"key": "value", ...}}  (padded with spaces to 8 bytes)
 * offset 8+H tensor bytes, little-endian, C order; offsets are relative to this point
 * </pre>
 */
public final class SafeTensors {
  private static final String METADATA = "__metadata__";

  private SafeTensors() {}

  public static void write(Path file, Collection<NamedTensor> tensors, Map<String, String> metadata)
      throws IOException {
    StringBuilder header = new StringBuilder("{");
    Map<String, String> meta = new LinkedHashMap<>();
    metadata.forEach((k, v) -> meta.put(k, Json.quote(v)));
    header.append(Json.quote(METADATA)).append(':').append(Json.object(meta));
    long offset = 0;
    for (NamedTensor t : tensors) {
      checkShape(t);
      long bytes = 4L * t.data().length;
      header.append(',').append(Json.quote(t.name())).append(":{\"dtype\":\"F32\",\"shape\":[");
      for (int i = 0; i < t.shape().length; i++) header.append(i == 0 ? "" : ",").append(t.shape()[i]);
      header.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
      offset += bytes;
    }
    header.append('}');
    byte[] head = header.toString().getBytes(StandardCharsets.UTF_8);
    int pad = (8 - head.length % 8) % 8;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer prefix = ByteBuffer.allocate(8 + head.length + pad).order(ByteOrder.LITTLE_ENDIAN);
      prefix.putLong(head.length + pad).put(head);
      for (int i = 0; i < pad; i++) prefix.put((byte) ' ');
      writeFully(ch, prefix.flip());
      ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
      for (NamedTensor t : tensors) {
        float[] d = t.data();
        for (int i = 0; i < d.length; ) {
          int n = Math.min(d.length - i, chunk.capacity() / 4);
          chunk.clear();
          chunk.asFloatBuffer().put(d, i, n);
          chunk.limit(4 * n);
          writeFully(ch, chunk);
          i += n;
        }
      }
      ch.force(true);
    }
  }

  /** Reads every tensor; a damaged file is an IOException naming the file and what is wrong. */
  public static LinkedHashMap<String, NamedTensor> read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) throw damaged(file, "shorter than its 8-byte header length");
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, len, 0);
      long headerLength = len.flip().getLong();
      if (headerLength < 2 || headerLength > size - 8 || headerLength > Integer.MAX_VALUE) {
        throw damaged(file, "header length " + headerLength + " does not fit a file of " + size + " bytes");
      }
      ByteBuffer head = ByteBuffer.allocate((int) headerLength);
      readFully(ch, head, 8);
      ConfigObject header = Json.parseObject(new String(head.array(), StandardCharsets.UTF_8), file.toString());
      long dataStart = 8 + headerLength;
      LinkedHashMap<String, NamedTensor> out = new LinkedHashMap<>();
      for (Map.Entry<String, ConfigValue> e : sortedByOffset(header)) {
        out.put(e.getKey(), readTensor(ch, file, e.getKey(), (ConfigObject) e.getValue(), dataStart, size));
      }
      return out;
    }
  }

  /** The __metadata__ strings of a file. */
  public static Map<String, String> metadata(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, len, 0);
      long headerLength = len.flip().getLong();
      if (headerLength < 2 || headerLength > ch.size() - 8) throw damaged(file, "bad header length");
      ByteBuffer head = ByteBuffer.allocate((int) headerLength);
      readFully(ch, head, 8);
      ConfigObject header = Json.parseObject(new String(head.array(), StandardCharsets.UTF_8), file.toString());
      Map<String, String> meta = new LinkedHashMap<>();
      ConfigValue m = header.get(METADATA);
      if (m instanceof ConfigObject mo) mo.forEach((k, v) -> meta.put(k, String.valueOf(v.unwrapped())));
      return meta;
    }
  }

  private static List<Map.Entry<String, ConfigValue>> sortedByOffset(ConfigObject header) {
    List<Map.Entry<String, ConfigValue>> entries = new ArrayList<>();
    for (Map.Entry<String, ConfigValue> e : header.entrySet()) {
      if (!e.getKey().equals(METADATA)) entries.add(e);
    }
    entries.sort((a, b) -> Long.compare(begin(a.getValue()), begin(b.getValue())));
    return entries;
  }

  private static long begin(ConfigValue v) {
    return ((Number) ((List<?>) ((ConfigObject) v).get("data_offsets").unwrapped()).get(0)).longValue();
  }

  private static NamedTensor readTensor(
      FileChannel ch, Path file, String name, ConfigObject info, long dataStart, long size) throws IOException {
    Object dtype = info.get("dtype") == null ? null : info.get("dtype").unwrapped();
    if (!"F32".equals(dtype)) throw damaged(file, name + ": dtype " + dtype + ", only F32 is supported");
    List<?> shapeList = (List<?>) info.get("shape").unwrapped();
    int[] shape = new int[shapeList.size()];
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = ((Number) shapeList.get(i)).intValue();
      count *= shape[i];
    }
    List<?> offsets = (List<?>) info.get("data_offsets").unwrapped();
    long begin = ((Number) offsets.get(0)).longValue();
    long end = ((Number) offsets.get(1)).longValue();
    if (end - begin != 4 * count || begin < 0 || dataStart + end > size) {
      throw damaged(file, name + ": data_offsets [" + begin + ", " + end + "] do not match shape or file size");
    }
    ByteBuffer bytes = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
    readFully(ch, bytes, dataStart + begin);
    float[] data = new float[(int) count];
    bytes.flip().asFloatBuffer().get(data);
    return new NamedTensor(name, shape, data);
  }

  private static void checkShape(NamedTensor t) {
    long n = 1;
    for (int s : t.shape()) n *= s;
    if (n != t.data().length) {
      throw new IllegalArgumentException(t.name() + ": shape holds " + n + " values, data " + t.data().length);
    }
  }

  private static IOException damaged(Path file, String what) {
    return new IOException("damaged safetensors file " + file + ": " + what);
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) ch.write(b);
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
    long p = position;
    while (b.hasRemaining()) {
      int n = ch.read(b, p);
      if (n < 0) throw new IOException("unexpected end of " + ch);
      p += n;
    }
  }
}
