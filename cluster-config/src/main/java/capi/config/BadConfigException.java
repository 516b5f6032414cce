package capi.config;

/** A configuration value (or input) that is wrong; the CLI maps it to exit status 2. */
public final class BadConfigException extends RuntimeException {
  public BadConfigException(String message) {
    super(message);
  }

  /** "capi.model.heads = 5: must divide capi.model.dim (192)". */
  public static BadConfigException of(String key, Object value, String allowed) {
    return new BadConfigException(key + " = " + value + ": " + allowed);
  }
}
