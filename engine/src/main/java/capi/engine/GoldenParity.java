package capi.engine;

import capi.config.ModelConfig;
import capi.config.OptimConfig;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the golden iterations of a fixture such as testdata/golden/capi-tiny-a (testdata/golden/README.md) and compares every
 * tensor: the model is built from the manifest, loaded with the initial weights, stepped with the
 * recorded inputs and constant hyper-parameters, then evaluated. Relative error =
 * ‖ours − golden‖ / max(‖golden‖, 1e-12); in float32 parameters after a step are compared as
 * changes from the initial values.
 */
public final class GoldenParity {
  private GoldenParity() {}

  public record Row(String key, double relErr, double tolerance) {
    public boolean ok() {
      return relErr <= tolerance;
    }
  }

  public record Result(Precision precision, List<Row> rows) {
    public boolean passed() {
      return rows.stream().allMatch(Row::ok);
    }

    public double maxRelErr() {
      return rows.stream().mapToDouble(Row::relErr).max().orElse(0);
    }
  }

  /** The golden iterations on the cpu backend in {@code precision}. */
  public static Result run(Path dir, Precision precision) throws IOException {
    return run(dir, precision, p -> Backends.create("cpu", p, 0, 1));
  }

  /** As {@link #run(Path, Precision)} with the trainer on a backend made by {@code backends}. */
  public static Result run(Path dir, Precision precision, java.util.function.Function<Precision, Backend> backends)
      throws IOException {
    Path manifestFile = dir.resolve("manifest.json");
    if (!Files.isRegularFile(manifestFile)) throw new IOException(dir + ": no manifest.json");
    Config m = ConfigFactory.parseFile(manifestFile.toFile());
    Golden g = new Golden(dir);
    int channels = g.get("step0/input/images").shape()[1];
    ModelConfig model = modelOf(m, channels);
    OptimConfig optim = optimOf(m);
    Config hyper = m.getConfig("hyper");
    List<Row> rows = new ArrayList<>();
    double loose = precision == Precision.FLOAT64 ? 1e-5 : 1e-3;
    double tight = precision == Precision.FLOAT64 ? 1e-8 : 1e-3;
    try (CapiTrainer t = CapiTrainer.create(model, optim, 0, backends.apply(precision))) {
      checkMultipliers(t, m);
      for (String name : t.studentParameterNames()) {
        t.write("student/" + name, g.data("init/student/" + name));
        t.write("teacher/" + name, g.data("init/teacher/" + name));
      }
      for (String name : List.of("layer.weight", "layer.bias")) t.write("clustering/" + name, g.data("init/clustering/" + name));
      int steps = hyper.getInt("steps");
      for (int s = 0; s < steps; s++) {
        String p = "step" + s + "/";
        double[] images = g.data(p + "input/images");
        int batch = g.get(p + "input/images").shape()[0];
        int[] visible = g.get(p + "input/visible_indices").ints();
        int[] predict = g.get(p + "input/predict_indices").ints();
        if (visible.length != batch * model.visible() || predict.length != batch * model.predicted()) {
          throw new IOException(dir + ": input counts do not match the manifest's mask ratio and prediction subsampling");
        }
        StepInput in = new StepInput(batch, null, null, null, visible, predict, 0);
        // after step 0 the clustering head carries the reference's float32 rounding (README)
        double dependent = s == 0 ? tight : loose;
        t.teacherForward(in, images);
        t.sinkhorn(Reducer.LOCAL);
        t.clusteringForwardBackward();
        t.studentForwardBackward();
        CapiTrainer.StepScalars losses = t.stepScalars();
        double clusteringLoss = losses.lossClustering(), capiLoss = losses.lossCapi();
        rows.add(row(p + "teacher/patch_tokens", t.probe("teacher/patch_tokens"), g.data(p + "teacher/patch_tokens"), tight));
        for (String k : List.of("teacher/cluster_logits", "teacher/assignments", "teacher/targets", "student/logits")) {
          rows.add(row(p + k, t.probe(k), g.data(p + k), dependent));
        }
        rows.add(row(p + "student/pred_tokens", t.probe("student/pred_tokens"), g.data(p + "student/pred_tokens"), tight));
        rows.add(row(p + "loss/clustering", new double[] {clusteringLoss}, g.data(p + "loss/clustering"), loose));
        rows.add(row(p + "loss/capi", new double[] {capiLoss}, g.data(p + "loss/capi"), dependent));
        for (String name : t.studentParameterNames()) {
          if (name.contains("rope")) continue; // frozen: their gradients are not computed
          rows.add(row(p + "grad/student/" + name, t.probe("grad/student/" + name), g.data(p + "grad/student/" + name), dependent));
        }
        for (String name : List.of("layer.weight", "layer.bias")) {
          rows.add(row(p + "grad/clustering/" + name, t.probe("grad/clustering/" + name), g.data(p + "grad/clustering/" + name), loose));
        }
        t.apply(hyper.getDouble("lr"), hyper.getDouble("ema_momentum"), hyper.getDouble("clust_lr"));
        String a = "after" + s + "/";
        for (String name : t.studentParameterNames()) {
          for (String model2 : List.of("student/", "teacher/")) {
            rows.add(after(a + model2 + name, t.read(model2 + name), g, model2 + name, precision, dependent));
          }
        }
        for (String name : List.of("layer.weight", "layer.bias")) {
          rows.add(after(a + "clustering/" + name, t.read("clustering/" + name), g, "clustering/" + name, precision, loose));
        }
      }
      double[] evalImages = g.data("eval/input/images");
      t.evalForward(evalImages, g.get("eval/input/images").shape()[0]);
      for (String k : List.of("eval/global_repr", "eval/registers", "eval/feature_map")) {
        rows.add(row(k, t.probe(k), g.data(k), loose));
      }
    }
    rows.add(row("schedule/lr", schedule(m, hyper.getDouble("lr"), 0, 0, g.get("schedule/lr").data().length),
        g.data("schedule/lr"), 1e-12));
    rows.add(row("schedule/momentum", schedule(m, 0.999, 1, 1, g.get("schedule/momentum").data().length),
        g.data("schedule/momentum"), 1e-12));
    return new Result(precision, rows);
  }

  /** schedule values for iterations 0 .. n−1 with the manifest's schedule settings. */
  static double[] schedule(Config m, double base, double last, double start, int n) {
    Config s = m.getConfig("hyper.schedule");
    WarmupThenCosine w = new WarmupThenCosine(base, last, s.getLong("total_iters"), s.getLong("warmup_iters"), start,
        s.getDouble("truncate_cos"));
    double[] out = new double[n];
    for (int i = 0; i < n; i++) out[i] = w.at(i);
    return out;
  }

  private static Row after(String key, double[] ours, Golden g, String name, Precision precision, double tol)
      throws IOException {
    double[] golden = g.data(key);
    if (precision == Precision.FLOAT64) return row(key, ours, golden, tol);
    double[] init = g.data("init/" + name);
    double[] dOurs = new double[ours.length], dGolden = new double[ours.length];
    for (int i = 0; i < ours.length; i++) {
      dOurs[i] = ours[i] - (float) init[i]; // from what we loaded: the initial values rounded to float32
      dGolden[i] = golden[i] - init[i];
    }
    return row(key + " (change)", dOurs, dGolden, tol);
  }

  static Row row(String key, double[] ours, double[] golden, double tol) {
    if (ours.length != golden.length) throw new IllegalStateException(key + ": " + ours.length + " values, golden has " + golden.length);
    double diff = 0, ref = 0;
    for (int i = 0; i < ours.length; i++) {
      diff += (ours[i] - golden[i]) * (ours[i] - golden[i]);
      ref += golden[i] * golden[i];
    }
    double rel = Math.sqrt(diff) / Math.max(Math.sqrt(ref), 1e-12);
    return new Row(key, Double.isNaN(rel) ? Double.POSITIVE_INFINITY : rel, tol);
  }

  private static void checkMultipliers(CapiTrainer t, Config m) throws IOException {
    for (Config grp : m.getConfigList("student_param_groups")) {
      String name = grp.getString("name");
      double[] ours = t.multipliers(name);
      if (ours[0] != grp.getDouble("lr_multiplier") || ours[1] != grp.getDouble("wd_multiplier")) {
        throw new IOException("multipliers of " + name + ": ours lr×" + ours[0] + " wd×" + ours[1] + ", golden lr×"
            + grp.getDouble("lr_multiplier") + " wd×" + grp.getDouble("wd_multiplier"));
      }
    }
  }

  static ModelConfig modelOf(Config m, int channels) {
    Config c = m.getConfig("config"), h = m.getConfig("hyper");
    return new ModelConfig(c.getInt("img_h"), c.getInt("img_w"), channels, c.getInt("patch"), c.getInt("enc_dim"),
        c.getInt("enc_heads"), c.getInt("enc_depth"), c.getInt("dec_dim"), c.getInt("dec_heads"), c.getInt("dec_depth"),
        c.getInt("registers"), c.getInt("clusters"), 0, c.getDouble("mask_ratio"), c.getDouble("pred_sub"),
        h.getDouble("student_temp"), h.getDouble("target_temp"), h.getDouble("pred_temp"), h.getInt("sk_iters"),
        true);
  }

  static OptimConfig optimOf(Config m) {
    Config h = m.getConfig("hyper"), s = h.getConfig("schedule");
    List<Double> betas = h.getDoubleList("betas");
    return new OptimConfig(h.getDouble("lr"), h.getDouble("wd"), betas.get(0), betas.get(1), h.getDouble("eps"),
        h.getDouble("patch_embed_lr_mult"), h.getDouble("norm_wd_mult"), h.getDouble("clust_lr"), h.getDouble("clust_wd"),
        h.getDouble("ema_momentum"), s.getLong("total_iters"),
        (double) s.getLong("warmup_iters") / s.getLong("total_iters"), s.getDouble("truncate_cos"));
  }

  /** The golden files of a directory by key ("step0/input/images" → step0__input__images.npy). */
  private static final class Golden {
    private final Path dir;

    Golden(Path dir) {
      this.dir = dir;
    }

    Npy.Array get(String key) throws IOException {
      Path f = dir.resolve(key.replace("/", "__") + ".npy");
      if (!Files.isRegularFile(f)) throw new IOException(dir + ": missing golden tensor " + key);
      return Npy.read(f);
    }

    double[] data(String key) throws IOException {
      return get(key).data();
    }
  }
}
