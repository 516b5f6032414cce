package capi.engine.checkpoint;

import capi.config.BadConfigException;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import java.util.Map;

/** The little JSON checkpoints need: parsing through Typesafe Config (raw keys), quoting. */
public final class Json {
  private Json() {}

  /** Parses a JSON object; keys are kept raw (dots in tensor names are not paths). */
  public static ConfigObject parseObject(String json, String what) {
    try {
      return ConfigFactory.parseString(json, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.JSON)).root();
    } catch (ConfigException e) {
      throw new BadConfigException(what + ": not valid JSON (" + e.getMessage() + ")");
    }
  }

  public static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }

  /** A flat object of string keys to already-rendered JSON values. */
  public static String object(Map<String, String> renderedValues) {
    StringBuilder b = new StringBuilder("{");
    for (Map.Entry<String, String> e : renderedValues.entrySet()) {
      if (b.length() > 1) b.append(',');
      b.append(quote(e.getKey())).append(':').append(e.getValue());
    }
    return b.append('}').toString();
  }
}
