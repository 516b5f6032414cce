package capi.eval;

import java.util.Locale;
import java.util.Map;

/**
 * The final line of `capi eval` (CLI.md): the teacher's global_repr scores at the top level, the
 * other feature sources and both baselines as nested objects; a probe that was not run is null.
 */
public final class EvalReport {
  private EvalReport() {}

  /**
   * @param context leading fields (e.g. checkpoint, step), strings or numbers, in order
   * @param pixels the raw-pixel baseline, or null when not computed
   * @param randomInit the random-initialisation baseline, or null when not computed
   */
  public static String jsonLine(Map<String, Object> context, Map<FeatureSource, Scores> teacher,
      Scores pixels, Scores randomInit, int trainImages, int testImages) {
    Scores main = teacher.get(FeatureSource.GLOBAL_REPR);
    StringBuilder json = new StringBuilder("{\"event\":\"eval\"");
    json.append(",\"knn_top1\":").append(number(main.knnTop1()));
    json.append(",\"linear_top1\":").append(number(main.linearTop1()));
    json.append(",\"features\":\"").append(FeatureSource.GLOBAL_REPR.label()).append('"');
    if (main.linear() != null) {
      json.append(",\"linear_lr\":").append(number(main.linear().learningRate()));
      json.append(",\"linear_wd\":").append(number(main.linear().weightDecay()));
    }
    for (Map.Entry<String, Object> e : context.entrySet()) {
      json.append(",\"").append(e.getKey()).append("\":");
      json.append(e.getValue() instanceof Number n ? number(n.doubleValue()) : string(String.valueOf(e.getValue())));
    }
    json.append(",\"train_images\":").append(trainImages).append(",\"test_images\":").append(testImages);
    for (Map.Entry<FeatureSource, Scores> e : teacher.entrySet()) {
      if (e.getKey() != FeatureSource.GLOBAL_REPR) object(json, e.getKey().label(), e.getValue());
    }
    if (pixels != null) object(json, "baseline_pixels", pixels);
    if (randomInit != null) object(json, "baseline_random_init", randomInit);
    return json.append('}').toString();
  }

  private static void object(StringBuilder json, String name, Scores s) {
    json.append(",\"").append(name).append("\":{\"knn_top1\":").append(number(s.knnTop1()));
    json.append(",\"linear_top1\":").append(number(s.linearTop1())).append('}');
  }

  /** Integers without a fraction, others in Java's shortest form (valid JSON), NaN as null. */
  private static String number(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) return "null";
    if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
    return Double.toString(v);
  }

  private static String string(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }
}
