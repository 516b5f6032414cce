package capi.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Slurm's compressed host lists ({@code SLURM_JOB_NODELIST}) expanded in Slurm's order:
 * {@code gpu[01-04,07]} is gpu01 … gpu04, gpu07 (zero padding as written), {@code n[1-2]-ib,login3}
 * is n1-ib, n2-ib, login3, and several bracket groups multiply out left to right
 * ({@code r[1-2]n[1-2]}: r1n1, r1n2, r2n1, r2n2). Bad input fails with a {@link BadConfigException}
 * naming the variable, the value and what is wrong.
 */
public final class SlurmNodeList {
  /** More hosts than any cluster has: a typo such as [1-100000000] fails instead of filling memory. */
  static final int MAX_HOSTS = 100_000;

  private SlurmNodeList() {}

  /** The hosts of {@code list}, the value of the environment variable {@code variable}. */
  public static List<String> expand(String variable, String list) {
    String v = list.trim();
    if (v.isEmpty()) throw bad(variable, list, "is empty");
    List<String> hosts = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i <= v.length(); i++) {
      char ch = i < v.length() ? v.charAt(i) : ',';
      if (ch == '[') depth++;
      if (ch == ']' && --depth < 0) throw bad(variable, list, "']' without '[' at position " + i);
      if (ch == ',' && depth == 0) {
        String entry = v.substring(start, i).trim();
        if (entry.isEmpty()) throw bad(variable, list, "an empty host name at position " + start);
        hosts.addAll(expandEntry(variable, list, entry));
        if (hosts.size() > MAX_HOSTS) throw bad(variable, list, "expands to more than " + MAX_HOSTS + " hosts");
        start = i + 1;
      }
    }
    if (depth != 0) throw bad(variable, list, "'[' without ']'");
    return hosts;
  }

  /** One entry without top-level commas: literal text and bracket groups, multiplied out. */
  private static List<String> expandEntry(String variable, String list, String entry) {
    List<String> out = List.of("");
    int i = 0;
    while (i < entry.length()) {
      int open = entry.indexOf('[', i);
      String literal = open < 0 ? entry.substring(i) : entry.substring(i, open);
      out = append(out, List.of(literal));
      if (open < 0) break;
      int close = entry.indexOf(']', open);
      if (entry.indexOf('[', open + 1) >= 0 && entry.indexOf('[', open + 1) < close) {
        throw bad(variable, list, "nested '[' in " + entry);
      }
      out = append(out, ranges(variable, list, entry.substring(open + 1, close)));
      if ((long) out.size() > MAX_HOSTS) throw bad(variable, list, "expands to more than " + MAX_HOSTS + " hosts");
      i = close + 1;
    }
    for (String host : out) {
      if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace)) {
        throw bad(variable, list, "\"" + host + "\" is not a host name");
      }
    }
    return out;
  }

  /** "01-04,07" → 01, 02, 03, 04, 07: each range as wide as its first bound is written. */
  private static List<String> ranges(String variable, String list, String spec) {
    List<String> out = new ArrayList<>();
    for (String part : spec.split(",", -1)) {
      String p = part.trim();
      int dash = p.indexOf('-');
      String lo = dash < 0 ? p : p.substring(0, dash);
      String hi = dash < 0 ? p : p.substring(dash + 1);
      if (!lo.matches("\\d{1,9}") || !hi.matches("\\d{1,9}")) {
        throw bad(variable, list, "[" + spec + "]: \"" + part + "\" is not a number or a range a-b");
      }
      long from = Long.parseLong(lo);
      long to = Long.parseLong(hi);
      if (to < from) throw bad(variable, list, "[" + spec + "]: the range " + p + " runs backwards");
      if (to - from >= MAX_HOSTS) throw bad(variable, list, "expands to more than " + MAX_HOSTS + " hosts");
      int width = lo.length();
      for (long n = from; n <= to; n++) out.add(String.format("%0" + width + "d", n));
    }
    return out;
  }

  private static List<String> append(List<String> prefixes, List<String> suffixes) {
    List<String> out = new ArrayList<>(prefixes.size() * suffixes.size());
    for (String p : prefixes) for (String s : suffixes) out.add(p + s);
    return out;
  }

  private static BadConfigException bad(String variable, String value, String problem) {
    return new BadConfigException(variable + " = \"" + value + "\": " + problem);
  }
}
