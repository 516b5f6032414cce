package capi.eval;

import capi.config.CapiConfig;
import capi.config.Overrides;
import java.util.Map;

/** A configuration with a model and probes small enough for tests, on Fashion-MNIST subsets. */
final class SmallModel {
  private SmallModel() {}

  /** The small model with {@code extra} over it (keys relative to capi, e.g. "eval.knn-k"). */
  static CapiConfig config(Map<String, String> extra) {
    Overrides o = Overrides.none().preset("tiny")
        .set("model.dim", 32).set("model.heads", 2).set("model.depth", 2)
        .set("model.pred-dim", 32).set("model.pred-heads", 2).set("model.pred-depth", 1)
        .set("model.prototypes", 64).set("model.drop-path-rate", 0)
        .set("eval.train-samples", 1000).set("eval.test-samples", 500)
        .set("eval.periodic-train-samples", 300).set("eval.periodic-test-samples", 100)
        .set("eval.batch-size", 128).set("eval.linear-epochs", 5).set("eval.linear-batch-size", 64);
    extra.forEach(o::set);
    return CapiConfig.load(null, o);
  }
}
