package capi.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Typed reads of one resolved configuration tree, each failing with a {@link BadConfigException}
 * that names the key, the value and what is allowed. Used only while a {@link CapiConfig} is built.
 */
final class Values {
  private Values() {}

  static int positiveInt(Config c, String key) {
    int v = intValue(c, key);
    if (v <= 0) throw BadConfigException.of(key, v, "must be a positive integer");
    return v;
  }

  static int nonNegativeInt(Config c, String key) {
    int v = intValue(c, key);
    if (v < 0) throw BadConfigException.of(key, v, "must be >= 0");
    return v;
  }

  static int intValue(Config c, String key) {
    try {
      return c.getInt(key);
    } catch (ConfigException.WrongType | ConfigException.BadValue e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be an integer");
    }
  }

  static long positiveLong(Config c, String key) {
    long v = longValue(c, key);
    if (v < 1) throw BadConfigException.of(key, v, "must be a positive integer");
    return v;
  }

  static long longValue(Config c, String key) {
    try {
      return c.getLong(key);
    } catch (ConfigException.WrongType | ConfigException.BadValue e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be an integer");
    }
  }

  static boolean booleanValue(Config c, String key) {
    try {
      return c.getBoolean(key);
    } catch (ConfigException.WrongType e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be true or false");
    }
  }

  static String string(Config c, String key) {
    try {
      return c.getString(key);
    } catch (ConfigException.WrongType e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be a string");
    }
  }

  /** A number in [min, max]. */
  static double doubleIn(Config c, String key, double min, double max) {
    double v;
    try {
      v = c.getDouble(key);
    } catch (ConfigException.WrongType | ConfigException.BadValue e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be a number");
    }
    if (!(v >= min && v <= max)) {
      throw BadConfigException.of(key, v, "must be in [" + min + ", " + max + "]");
    }
    return v;
  }

  /** A positive duration such as "10s" or "5m". */
  static Duration positiveDuration(Config c, String key) {
    Duration d;
    try {
      d = c.getDuration(key);
    } catch (ConfigException.BadValue | ConfigException.WrongType e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be a duration such as 30s or 5m");
    }
    if (d.isNegative() || d.isZero()) throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be positive");
    return d;
  }

  /** A TCP/UDP port in [min, 65535]. */
  static int port(Config c, String key, int min) {
    int v = intValue(c, key);
    if (v < min || v > 65535) throw BadConfigException.of(key, v, "must be in [" + min + ", 65535]");
    return v;
  }

  /** A string that is not blank. */
  static String nonBlank(Config c, String key) {
    String v = string(c, key);
    if (v.isBlank()) throw BadConfigException.of(key, "\"\"", "must not be empty");
    return v;
  }

  /** One of the allowed words. */
  static String oneOf(Config c, String key, String... allowed) {
    String v = string(c, key);
    for (String a : allowed) if (a.equals(v)) return v;
    throw BadConfigException.of(key, v, "must be one of " + String.join(", ", allowed));
  }

  /** One of an enum's configuration words ({@link Choice#word}). */
  static <E extends Enum<E> & Choice> E choice(Config c, String key, Class<E> type) {
    String v = string(c, key);
    for (E e : type.getEnumConstants()) if (e.word().equals(v)) return e;
    throw BadConfigException.of(key, v, "must be one of "
        + Arrays.stream(type.getEnumConstants()).map(Choice::word).collect(Collectors.joining(", ")));
  }
}
