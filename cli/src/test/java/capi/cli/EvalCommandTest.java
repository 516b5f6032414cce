package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CapiConfig;
import capi.config.Overrides;
import capi.engine.CapiTrainer;
import capi.engine.checkpoint.CheckpointStore;
import capi.eval.Evaluator;
import capi.eval.FeatureSource;
import capi.eval.Probe;
import capi.eval.Scores;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** `capi eval` reads a run's checkpoint and configuration and prints the CLI.md line. */
class EvalCommandTest {
  private static final List<String> FEW_IMAGES = List.of(
      d("eval.train-samples", "300"), d("eval.test-samples", "100"), d("eval.linear-epochs", "3"));

  @TempDir Path tmp;

  @Test
  @Timeout(600)
  void evaluatesTheCheckpointsTeacherLikeTheEvaluatorDoes() throws Exception {
    Path run = tmp.resolve("run");
    SmallRuns.train(run, "--steps", "2", "--workers", "1", "--batch-size", "4");
    Path results = tmp.resolve("results/eval.jsonl");
    String line = eval(run.toString(), "--probe", "knn", "--results", results.toString());
    assertTrue(line.startsWith("{\"event\":\"eval\",\"knn_top1\":"), line);
    assertEquals(List.of(line), Files.readAllLines(results), "the result is appended to the results file");
    assertTrue(line.matches(".*,\"commit\":\"[^\"]+\",\"cores\":\\d+,\"cpu\":\"[^\"]+\",\"load1\":[-0-9.]+,\"time\":\"[^\"]+\"}"), line);
    assertTrue(line.contains("\"linear_top1\":null,\"features\":\"global_repr\""), line);
    assertTrue(line.contains("\"step\":2,\"train_images\":300,\"test_images\":100"), line);
    assertTrue(line.contains("\"baseline_pixels\":{\"knn_top1\":0."), line);
    assertTrue(line.contains("\"baseline_random_init\":{\"knn_top1\":0."), line);

    // The same teacher, loaded here from the checkpoint's own files, gives the same k-NN score.
    CheckpointStore.Checkpoint c = CheckpointStore.locate(run, w -> {});
    Map<String, String> overrides = new java.util.HashMap<>();
    for (String o : FEW_IMAGES) overrides.put(o.substring(2, o.indexOf('=')), o.substring(o.indexOf('=') + 1));
    CapiConfig config = CapiConfig.read(c.config(), Overrides.commandLine(overrides));
    try (CapiTrainer model = CapiTrainer.create(config.model(), config.optim(), 5, 1)) {
      c.loadInto(model);
      Scores s = Evaluator.of(config, Probe.KNN, false, 1).evaluate(model).get(FeatureSource.GLOBAL_REPR);
      assertEquals(s.knnTop1(), number(line, "knn_top1"), 1e-12);
    }
    // A checkpoint directory names the same checkpoint as its run directory.
    String again = eval(c.dir().toString(), "--probe", "knn");
    assertEquals(line.substring(0, line.indexOf(",\"commit\"")), again.substring(0, again.indexOf(",\"commit\"")));
  }

  @Test
  void rejectsAnUnknownProbeAndAMissingRun() {
    assertEquals(Main.EXIT_BAD_INPUT, Main.execute("eval", tmp.toString(), "--probe", "svm"));
    assertEquals(Main.EXIT_BAD_INPUT, Main.execute("eval", tmp.resolve("nothing").toString()));
  }

  private static String eval(String path, String... extra) {
    List<String> a = new ArrayList<>(List.of("eval", path));
    a.addAll(FEW_IMAGES);
    a.addAll(List.of(extra));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream saved = System.out;
    try {
      System.setOut(new PrintStream(out, true));
      assertEquals(0, Main.execute(a.toArray(String[]::new)), "capi " + a);
    } finally {
      System.setOut(saved);
    }
    String[] lines = out.toString().strip().split("\n");
    return lines[lines.length - 1];
  }

  private static double number(String json, String field) {
    Matcher m = Pattern.compile("\"" + field + "\":([0-9.eE-]+)").matcher(json);
    assertTrue(m.find(), field + " in " + json);
    return Double.parseDouble(m.group(1));
  }
}
