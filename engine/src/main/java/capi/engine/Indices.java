package capi.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every index set of a forward (or a whole step) in one I32 tensor, uploaded in one transfer: the
 * host reserves named sections, fills them, then {@link #upload()}s; layers get each section as a
 * view. Sections of the same name and size land at the same place every step, so their views are
 * reused.
 *
 * <pre>
 *   host int[]:  | section a | section b | ... |   --upload()-->   device I32 tensor, views per section
 * </pre>
 */
final class Indices {
  private record Section(int offset, int length) {}

  private final Arena arena;
  private final Object scope = new Object();
  private final Map<String, Section> sections = new LinkedHashMap<>();
  private int[] host = new int[64];
  private int size;
  private Tensor device;

  Indices(Arena arena) {
    this.arena = arena;
  }

  /** Starts a new set of sections (the previous views stay valid until the next upload). */
  void clear() {
    sections.clear();
    size = 0;
  }

  /** Reserves a section of `length` ints; returns its offset in {@link #host()}, where the caller writes it. */
  int reserve(String name, int length) {
    if (sections.containsKey(name)) throw new IllegalStateException("index section " + name + " twice");
    if (size + length > host.length) host = java.util.Arrays.copyOf(host, Math.max(2 * host.length, size + length));
    sections.put(name, new Section(size, length));
    size += length;
    return size - length;
  }

  /** Reserves and fills a section. */
  void put(String name, int[] values) {
    int at = reserve(name, values.length);
    System.arraycopy(values, 0, host, at, values.length);
  }

  int[] host() {
    return host;
  }

  boolean has(String name) {
    return sections.containsKey(name);
  }

  /** One transfer of every section. */
  void upload() {
    device = arena.get(scope, "indices", DType.I32, Math.max(1, size));
    arena.backend().upload(host, 0, device, 0, size);
  }

  /** The section `name` on the backend (after {@link #upload()}). */
  Tensor get(String name) {
    Section s = sections.get(name);
    if (s == null) throw new IllegalStateException("no index section " + name);
    return arena.view(device, s.offset(), s.length());
  }

  /** Its length. */
  int length(String name) {
    return sections.get(name).length();
  }
}
