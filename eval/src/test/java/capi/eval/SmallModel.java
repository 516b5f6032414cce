package capi.eval;

import capi.config.CapiConfig;
import com.typesafe.config.Config;
import java.util.HashMap;
import java.util.Map;

/** A configuration with a model and probes small enough for tests, on Fashion-MNIST subsets. */
final class SmallModel {
  private SmallModel() {}

  static Config config(Map<String, String> extra) {
    Map<String, String> o = new HashMap<>(Map.of(
        "capi.model.dim", "32", "capi.model.heads", "2", "capi.model.depth", "2",
        "capi.model.pred-dim", "32", "capi.model.pred-heads", "2", "capi.model.pred-depth", "1",
        "capi.model.prototypes", "64", "capi.model.drop-path-rate", "0"));
    o.putAll(Map.of(
        "capi.eval.train-samples", "1000", "capi.eval.test-samples", "500",
        "capi.eval.periodic-train-samples", "300", "capi.eval.periodic-test-samples", "100",
        "capi.eval.batch-size", "128", "capi.eval.linear-epochs", "5", "capi.eval.linear-batch-size", "64"));
    o.putAll(extra);
    return CapiConfig.load(null, o, "tiny");
  }
}
