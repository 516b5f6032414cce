package capi.engine;

/** Element type of every tensor of a backend: float32 for training, float64 for checks. */
public enum Precision {
  FLOAT32,
  FLOAT64;

  public static Precision of(String name) {
    return switch (name) {
      case "float32" -> FLOAT32;
      case "float64" -> FLOAT64;
      default -> throw new IllegalArgumentException("precision " + name + ": must be float32 or float64");
    };
  }
}
