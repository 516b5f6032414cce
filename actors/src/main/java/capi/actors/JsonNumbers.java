package capi.actors;

/** JSON has no NaN or infinities: such values are written as null. */
final class JsonNumbers {
  private JsonNumbers() {}

  static String of(double v) {
    return Double.isFinite(v) ? Double.toString(v) : "null";
  }
}
