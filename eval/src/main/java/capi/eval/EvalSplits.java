package capi.eval;

import capi.config.BadConfigException;
import capi.config.EvalConfig;
import capi.config.Keys;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The train and test dataset SPECs of an evaluation: capi.eval.test-dataset when set, else derived
 * from capi.eval.dataset (fashion-mnist -> fashion-mnist:test; folder:DIR with DIR/train and
 * DIR/test -> those two folders).
 */
public record EvalSplits(String train, String test) {
  public static EvalSplits of(EvalConfig config) {
    String spec = config.dataset();
    if (!config.testDataset().isEmpty()) return new EvalSplits(spec, config.testDataset());
    if (spec.equals("fashion-mnist") || spec.equals("fashion-mnist:train")) {
      return new EvalSplits(spec, "fashion-mnist:test");
    }
    if (spec.startsWith("folder:")) {
      Path dir = Path.of(spec.substring("folder:".length()));
      if (Files.isDirectory(dir.resolve("train")) && Files.isDirectory(dir.resolve("test"))) {
        return new EvalSplits("folder:" + dir.resolve("train"), "folder:" + dir.resolve("test"));
      }
    }
    throw BadConfigException.of(Keys.EVAL_TEST_DATASET, "\"\"",
        "cannot derive a test split from capi.eval.dataset = " + spec
            + "; set it (or use folder:DIR with DIR/train and DIR/test)");
  }
}
