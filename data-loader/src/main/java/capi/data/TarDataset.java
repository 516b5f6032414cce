package capi.data;

import capi.config.BadConfigException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * WebDataset shards: tar files whose members KEY.jpg|jpeg|png are images and KEY.cls (optional) a
 * decimal label. Opening reads only the 512-byte headers (and the small .cls members) to index the
 * members; images are then read straight from the shards by offset, never extracted, so the
 * sampler can address any sample of the epoch's permutation.
 */
final class TarDataset implements Dataset {
  private static final int BLOCK = 512;

  private final List<Path> shards = new ArrayList<>();
  private final List<FileChannel> channels = new ArrayList<>();
  private final List<Member> members = new ArrayList<>();
  private final int classes;

  /** One image: its shard, byte range and label. */
  private record Member(int shard, String name, long offset, int length, int label) {}

  /** A sample being assembled while a shard is scanned. */
  private static final class Entry {
    String image;
    long offset;
    int length;
    int label = -1;
  }

  /** @param glob a path whose last component may hold a glob (shard-*.tar); the directory may not */
  TarDataset(String glob) {
    Path pattern = Path.of(glob);
    Path dir = pattern.getParent() == null ? Path.of(".") : pattern.getParent();
    if (!Files.isDirectory(dir)) throw new BadConfigException(glob + ": no such directory " + dir);
    PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + pattern.getFileName());
    try (var files = Files.list(dir)) {
      files.filter(p -> matcher.matches(p.getFileName()) && Files.isRegularFile(p)).sorted().forEach(shards::add);
    } catch (IOException e) {
      throw new BadConfigException(dir + ": cannot list: " + e.getMessage());
    }
    if (shards.isEmpty()) throw new BadConfigException(glob + ": no tar shard matches");
    int maxLabel = -1;
    for (int s = 0; s < shards.size(); s++) {
      try {
        channels.add(FileChannel.open(shards.get(s), StandardOpenOption.READ));
        for (Entry e : scan(s).values()) {
          if (e.image == null) continue;
          members.add(new Member(s, e.image, e.offset, e.length, e.label));
          maxLabel = Math.max(maxLabel, e.label);
        }
      } catch (IOException e) {
        throw new BadConfigException(shards.get(s) + ": unreadable tar shard: " + e.getMessage());
      }
    }
    if (members.isEmpty()) throw new BadConfigException(glob + ": no KEY.jpg|png members in the shards");
    classes = maxLabel + 1;
  }

  /** Reads the headers of shard s; a truncated member ends the shard (it is logged and counted). */
  private Map<String, Entry> scan(int s) throws IOException {
    FileChannel ch = channels.get(s);
    long fileSize = ch.size();
    Map<String, Entry> entries = new LinkedHashMap<>();
    long pos = 0;
    String longName = null; // GNU 'L' and pax 'path' records name the member that follows
    while (pos + BLOCK <= fileSize) {
      byte[] h = read(ch, pos, BLOCK);
      if (allZero(h)) break; // end-of-archive marker
      long size = octal(h, 124, 12);
      char type = (char) h[156];
      long data = pos + BLOCK;
      if (data + size > fileSize) {
        DataCounters.skipped(shards.get(s) + " (member at byte " + pos + ")", "truncated shard");
        break;
      }
      if (type == 'L') {
        longName = cString(read(ch, data, (int) size), 0, (int) size);
      } else if (type == 'x') {
        String path = paxPath(new String(read(ch, data, (int) size), StandardCharsets.UTF_8));
        if (path != null) longName = path;
      } else if (type == '0' || type == '\0') {
        String name = longName != null ? longName : fullName(h);
        longName = null;
        addMember(entries, name, data, size, s);
      } else {
        longName = null;
      }
      pos = data + (size + BLOCK - 1) / BLOCK * BLOCK;
    }
    return entries;
  }

  private void addMember(Map<String, Entry> entries, String name, long data, long size, int s) throws IOException {
    int slash = name.lastIndexOf('/');
    int dot = name.indexOf('.', slash + 1);
    if (dot < 0) return;
    String key = name.substring(0, dot);
    String ext = name.substring(dot + 1).toLowerCase(Locale.ROOT);
    Entry e = entries.computeIfAbsent(key, k -> new Entry());
    if (ext.equals("jpg") || ext.equals("jpeg") || ext.equals("png")) {
      e.image = name;
      e.offset = data;
      e.length = (int) size;
    } else if (ext.equals("cls")) {
      String text = new String(read(channels.get(s), data, (int) size), StandardCharsets.UTF_8).trim();
      try {
        e.label = Integer.parseInt(text);
      } catch (NumberFormatException x) {
        e.label = -2;
      }
      if (e.label < 0) throw new BadConfigException(shards.get(s) + ": malformed label file " + name + ": '" + text + "'");
    }
  }

  private static String paxPath(String records) {
    for (String line : records.split("\n")) {
      int sp = line.indexOf(' ');
      if (sp > 0 && line.startsWith("path=", sp + 1)) return line.substring(sp + 6);
    }
    return null;
  }

  private static String fullName(byte[] h) {
    String name = cString(h, 0, 100);
    boolean ustar = new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
    String prefix = ustar ? cString(h, 345, 155) : "";
    return prefix.isEmpty() ? name : prefix + "/" + name;
  }

  private static String cString(byte[] b, int from, int max) {
    int end = from;
    while (end < from + max && b[end] != 0) end++;
    return new String(b, from, end - from, StandardCharsets.UTF_8);
  }

  private static long octal(byte[] b, int from, int len) {
    long v = 0;
    for (int i = from; i < from + len; i++) {
      if (b[i] >= '0' && b[i] <= '7') v = v * 8 + (b[i] - '0');
      else if (v > 0 || b[i] == 0) break;
    }
    return v;
  }

  private static boolean allZero(byte[] b) {
    for (byte x : b) if (x != 0) return false;
    return true;
  }

  /** Positional read: FileChannel allows it from many threads at once. */
  private static byte[] read(FileChannel ch, long pos, int len) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(len);
    while (buf.hasRemaining()) {
      if (ch.read(buf, pos + buf.position()) < 0) throw new IOException("unexpected end of shard");
    }
    return buf.array();
  }

  @Override
  public int size() {
    return members.size();
  }

  @Override
  public int channels() {
    return 3;
  }

  @Override
  public int classes() {
    return classes;
  }

  @Override
  public int label(int i) {
    return members.get(i).label;
  }

  @Override
  public RawImage decode(int i) throws IOException {
    Member m = members.get(i);
    return ImageDecoder.decode(read(channels.get(m.shard), m.offset, m.length));
  }

  @Override
  public String describe(int i) {
    Member m = members.get(i);
    return shards.get(m.shard) + ":" + m.name;
  }
}
