package capi.monitoring;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * One JSON object on one line: capi's console events ({@code {"event":"progress",…}}, {@code done},
 * {@code metrics}, {@code bench}, {@code eval}, {@code export}) and the rows of metrics.jsonl and
 * results/*.jsonl. Fields keep the order they were added in; an event ends with {@code "time"}, the
 * local time with its offset in the pattern of the log lines (simplelogger.properties), so every
 * line a run prints carries a timestamp and stays parseable. JSON has no NaN or infinities: such
 * numbers are written as null.
 */
public final class JsonLine {
  /** The timestamp pattern of events, the same as the loggers' (ISO 8601, milliseconds, offset). */
  public static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", Locale.ROOT);

  private final StringBuilder json = new StringBuilder("{");
  private final boolean stamped;

  private JsonLine(boolean stamped) {
    this.stamped = stamped;
  }

  /** {"event":NAME, …, "time":…}. */
  public static JsonLine event(String name) {
    return new JsonLine(true).add("event", name);
  }

  /** A plain object (a row of metrics.jsonl, a nested object). */
  public static JsonLine object() {
    return new JsonLine(false);
  }

  public JsonLine add(String key, String value) {
    return addRaw(key, value == null ? "null" : quote(value));
  }

  public JsonLine add(String key, long value) {
    return addRaw(key, Long.toString(value));
  }

  /** In Java's shortest form that reads back to the same double. */
  public JsonLine add(String key, double value) {
    return addRaw(key, Double.isFinite(value) ? Double.toString(value) : "null");
  }

  /** Formatted, e.g. "%.2f" (fixed decimals) or "%.6g". */
  public JsonLine add(String key, double value, String format) {
    return addRaw(key, Double.isFinite(value) ? String.format(Locale.ROOT, format, value) : "null");
  }

  public JsonLine add(String key, boolean value) {
    return addRaw(key, Boolean.toString(value));
  }

  /** A value that is JSON already (a nested object). */
  public JsonLine addRaw(String key, String json) {
    if (this.json.length() > 1) this.json.append(',');
    this.json.append(quote(key)).append(':').append(json);
    return this;
  }

  @Override
  public String toString() {
    if (!stamped) return json + "}";
    return json + ",\"time\":\"" + OffsetDateTime.now().format(TIME) + "\"}";
  }

  /** A JSON string literal. */
  public static String quote(String s) {
    StringBuilder out = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
