package capi.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks that a user's layer (a --config file, -D overrides, a saved config.conf) sets only keys
 * that reference.conf defines, so a misspelt key fails at start instead of being ignored. Allowed
 * besides: anything under {@code capi.cluster.pekko} (Pekko's own settings, passed through) and
 * {@code capi.presets.NAME.KEY} where {@code capi.KEY} is allowed.
 */
final class KnownKeys {
  private static final String PRESETS = "capi.presets.";
  private static final String PEKKO = "capi.cluster.pekko";

  private final Config reference;
  private final List<String> leaves = new ArrayList<>();

  KnownKeys(Config reference) {
    this.reference = reference;
    for (Map.Entry<String, ConfigValue> e : reference.getConfig("capi").entrySet()) {
      String key = "capi." + e.getKey();
      if (!key.startsWith(PRESETS) && !key.startsWith(PEKKO + ".")) leaves.add(key);
    }
    leaves.sort(null);
  }

  /** Throws a BadConfigException naming the first key of {@code layer} that is not known. */
  void check(Config layer, String source) {
    for (Map.Entry<String, ConfigValue> e : layer.entrySet()) {
      String key = e.getKey();
      String problem = problem(key);
      if (problem != null) throw new BadConfigException(key + " (" + source + "): " + problem);
    }
  }

  /** Why a leaf key is not allowed, or null. */
  private String problem(String key) {
    if (!key.startsWith("capi.")) return "not a capi key; keys start with capi. (see reference.conf)";
    if (key.equals(PEKKO) || key.startsWith(PEKKO + ".")) return null;
    if (key.startsWith(PRESETS)) {
      int dot = key.indexOf('.', PRESETS.length());
      return dot < 0 ? "a preset is a section of keys" : problem("capi." + key.substring(dot + 1));
    }
    if (reference.hasPathOrNull(key)) {
      ConfigValue known = reference.getValue(key);
      if (known.valueType() != ConfigValueType.OBJECT) return null;
      return "is a section, not a value; set its keys, e.g. " + firstLeafUnder(key);
    }
    return "unknown key; did you mean " + closest(key) + "?";
  }

  private String firstLeafUnder(String section) {
    for (String leaf : leaves) if (leaf.startsWith(section + ".")) return leaf;
    return section + ".*";
  }

  /** The known key with the smallest edit distance (of equals, the alphabetically first). */
  private String closest(String key) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String leaf : leaves) {
      int d = editDistance(key, leaf);
      if (d < bestDistance) {
        best = leaf;
        bestDistance = d;
      }
    }
    return best;
  }

  /** Levenshtein distance. */
  static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) prev[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
