package capi.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Loads the one configuration tree of a run: -D overrides over a --config file over the preset
 * over reference.conf. Typed views ({@code ModelConfig}, ...) read from the result and validate.
 */
public final class CapiConfig {
  private CapiConfig() {}

  /**
   * @param file a HOCON file or null
   * @param overrides HOCON paths to values, e.g. {"capi.model.drop-path-rate": "0"}
   * @param preset a preset name or null to use capi.preset from the other layers
   */
  public static Config load(Path file, Map<String, String> overrides, String preset) {
    Config reference = ConfigFactory.defaultReference();
    Config fromFile = ConfigFactory.empty();
    if (file != null) {
      if (!Files.isRegularFile(file)) {
        throw new BadConfigException("--config " + file + ": no such file");
      }
      try {
        fromFile = ConfigFactory.parseFile(file.toFile());
      } catch (ConfigException e) {
        throw new BadConfigException("--config " + file + ": " + e.getMessage());
      }
    }
    Config fromOverrides = ConfigFactory.parseMap(overrides == null ? Map.of() : overrides);
    Config user = fromOverrides.withFallback(fromFile);
    if (preset != null) {
      user = user.withFallback(ConfigFactory.parseMap(Map.of("capi.preset", preset)));
    }
    String name = user.withFallback(reference).getString("capi.preset");
    String presetPath = "capi.presets.\"" + name + "\"";
    if (!reference.hasPath(presetPath)) {
      throw BadConfigException.of(
          "capi.preset", name, "unknown preset; allowed: " + reference.getConfig("capi.presets").root().keySet());
    }
    Config presetTree = reference.getConfig(presetPath).atPath("capi");
    try {
      return user.withFallback(presetTree).withFallback(reference).resolve();
    } catch (ConfigException e) {
      throw new BadConfigException(e.getMessage());
    }
  }

  /** The defaults of a preset, without file or overrides. */
  public static Config preset(String name) {
    return load(null, Map.of(), name);
  }

  /** The capi subtree rendered as HOCON, for a run directory's config.conf. */
  public static String render(Config config) {
    return config.getConfig("capi").atPath("capi")
        .root().render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
  }

  /** Reads a config.conf written by {@link #render}, over reference.conf. */
  public static Config loadRendered(Path configConf) {
    try {
      return ConfigFactory.parseFile(configConf.toFile())
          .withFallback(ConfigFactory.defaultReference()).resolve();
    } catch (ConfigException e) {
      throw new BadConfigException(configConf + ": " + e.getMessage());
    }
  }

  // ---- typed reads with clear errors ---------------------------------------------------------

  public static int positiveInt(Config c, String key) {
    int v = intValue(c, key);
    if (v <= 0) throw BadConfigException.of(key, v, "must be a positive integer");
    return v;
  }

  public static int nonNegativeInt(Config c, String key) {
    int v = intValue(c, key);
    if (v < 0) throw BadConfigException.of(key, v, "must be >= 0");
    return v;
  }

  public static int intValue(Config c, String key) {
    try {
      return c.getInt(key);
    } catch (ConfigException.WrongType e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be an integer");
    }
  }

  public static long longValue(Config c, String key) {
    try {
      return c.getLong(key);
    } catch (ConfigException.WrongType e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be an integer");
    }
  }

  public static boolean booleanValue(Config c, String key) {
    try {
      return c.getBoolean(key);
    } catch (ConfigException.WrongType e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be true or false");
    }
  }

  /** A number in [min, max]. */
  public static double doubleIn(Config c, String key, double min, double max) {
    double v;
    try {
      v = c.getDouble(key);
    } catch (ConfigException.WrongType e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be a number");
    }
    if (!(v >= min && v <= max)) {
      throw BadConfigException.of(key, v, "must be in [" + min + ", " + max + "]");
    }
    return v;
  }

  /** A positive duration such as "10s" or "5m". */
  public static java.time.Duration positiveDuration(Config c, String key) {
    java.time.Duration d;
    try {
      d = c.getDuration(key);
    } catch (ConfigException.BadValue | ConfigException.WrongType e) {
      throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be a duration such as 30s or 5m");
    }
    if (d.isNegative() || d.isZero()) throw BadConfigException.of(key, c.getValue(key).unwrapped(), "must be positive");
    return d;
  }

  /** One of the allowed words. */
  public static String oneOf(Config c, String key, String... allowed) {
    String v = c.getString(key);
    for (String a : allowed) if (a.equals(v)) return v;
    throw BadConfigException.of(key, v, "must be one of " + String.join(", ", allowed));
  }
}
