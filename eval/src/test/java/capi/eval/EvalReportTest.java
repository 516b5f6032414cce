package capi.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvalReportTest {
  @Test
  void globalReprAtTheTopOtherSourcesAndBaselinesNested() {
    Map<FeatureSource, Scores> teacher = new EnumMap<>(FeatureSource.class);
    teacher.put(FeatureSource.GLOBAL_REPR, new Scores(0.8125, new LinearProbe.Result(0.875, 0.003, 0.1, 0.9)));
    teacher.put(FeatureSource.PATCH_MEAN, new Scores(0.75, null));
    Map<String, Object> context = new LinkedHashMap<>();
    context.put("checkpoint", "runs/a \"b\"");
    context.put("step", 1200L);
    String line = EvalReport.jsonLine(context, teacher, new Scores(0.5, null), null, 100, 20).toString();
    assertEquals("{\"event\":\"eval\",\"knn_top1\":0.8125,\"linear_top1\":0.875,\"features\":\"global_repr\","
        + "\"linear_lr\":0.003,\"linear_wd\":0.1,\"checkpoint\":\"runs/a \\\"b\\\"\",\"step\":1200,"
        + "\"train_images\":100,\"test_images\":20,\"patch_mean\":{\"knn_top1\":0.75,\"linear_top1\":null},"
        + "\"baseline_pixels\":{\"knn_top1\":0.5,\"linear_top1\":null},\"time\":\"", line.substring(0, line.indexOf("\"time\":\"") + 8));
  }
}
