package capi.eval;

import capi.monitoring.JsonLine;
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
  public static JsonLine jsonLine(Map<String, Object> context, Map<FeatureSource, Scores> teacher,
      Scores pixels, Scores randomInit, int trainImages, int testImages) {
    Scores main = teacher.get(FeatureSource.GLOBAL_REPR);
    JsonLine json = JsonLine.event("eval").add("knn_top1", main.knnTop1()).add("linear_top1", main.linearTop1())
        .add("features", FeatureSource.GLOBAL_REPR.label());
    if (main.linear() != null) {
      json.add("linear_lr", main.linear().learningRate()).add("linear_wd", main.linear().weightDecay());
    }
    for (Map.Entry<String, Object> e : context.entrySet()) {
      if (e.getValue() instanceof Long || e.getValue() instanceof Integer) json.add(e.getKey(), ((Number) e.getValue()).longValue());
      else if (e.getValue() instanceof Number n) json.add(e.getKey(), n.doubleValue());
      else json.add(e.getKey(), String.valueOf(e.getValue()));
    }
    json.add("train_images", trainImages).add("test_images", testImages);
    for (Map.Entry<FeatureSource, Scores> e : teacher.entrySet()) {
      if (e.getKey() != FeatureSource.GLOBAL_REPR) json.addRaw(e.getKey().label(), scores(e.getValue()));
    }
    if (pixels != null) json.addRaw("baseline_pixels", scores(pixels));
    if (randomInit != null) json.addRaw("baseline_random_init", scores(randomInit));
    return json;
  }

  private static String scores(Scores s) {
    return JsonLine.object().add("knn_top1", s.knnTop1()).add("linear_top1", s.linearTop1()).toString();
  }
}
