package capi.engine;

import capi.config.ModelConfig;
import capi.config.OptimConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * One CAPI worker's model and training step (docs/ALGORITHM.md §3–§4), in phases the runtime drives:
 * {@link #teacherForward} → {@link #sinkhorn} → {@link #clusteringForwardBackward} →
 * {@link #studentForwardBackward} → (gradient all-reduce) → {@link #apply}.
 *
 * <p>Three models, each one flat buffer: the student (backbone + head, with gradients), the
 * teacher (its EMA, same layout) and the clustering head. Names are the reference's. The
 * optimiser step counter is not part of {@link #state()}: use {@link #optimizerStep()}.
 */
public final class CapiTrainer implements AutoCloseable {
  private final ModelConfig cfg;
  private final OptimConfig optim;
  private final Backend be;
  private final Profile profile = new Profile();
  private final Arena studentArena;
  private final Arena teacherArena;
  private final ParamSet student = new ParamSet();
  private final ParamSet teacher = new ParamSet();
  private final ParamSet clustering = new ParamSet();
  private final Backbone studentBackbone;
  private final StudentHead studentHead;
  private final Backbone teacherBackbone;
  private final ClusteringHead clusteringHead;
  private final Sinkhorn sinkhorn;
  private final Tensor studentM, studentV, clusteringM, clusteringV;
  private final long[] segments;
  private final double[] lrMult, wdMult;
  private long step;
  // per-step state
  private int batch;
  private int[] predictIndices;
  private Tensor images, tokens, assignments, targets, dPred, dLogits, dClusterLogits;
  private Tensor clusterLogits, predTokens, studentLogits;
  private ByteBuffer studentGradStage, clusteringGradStage;
  private boolean studentStaged, clusteringStaged;
  private double[] evalGlobal, evalRegisters, evalFeatures;

  private CapiTrainer(ModelConfig cfg, OptimConfig optim, Backend be) {
    this.cfg = cfg;
    this.optim = optim;
    this.be = be;
    studentArena = new Arena(be, profile);
    teacherArena = new Arena(be, profile);
    studentBackbone = new Backbone(student, cfg, studentArena, false);
    studentHead = new StudentHead(student, cfg.predDim(), cfg.prototypes(), studentArena);
    teacherBackbone = new Backbone(teacher, cfg, teacherArena, true);
    new StudentHead(teacher, cfg.predDim(), cfg.prototypes(), teacherArena); // the EMA head: kept, unused
    clusteringHead = new ClusteringHead(clustering, cfg.dim(), cfg.prototypes(), teacherArena);
    sinkhorn = new Sinkhorn(teacherArena);
    student.allocate(be, true);
    teacher.allocate(be, false);
    clustering.allocate(be, true);
    studentM = be.allocate(student.length());
    studentV = be.allocate(student.length());
    clusteringM = be.allocate(clustering.length());
    clusteringV = be.allocate(clustering.length());
    List<Param> ps = student.params();
    segments = new long[ps.size() + 1];
    lrMult = new double[ps.size()];
    wdMult = new double[ps.size()];
    for (int i = 0; i < ps.size(); i++) {
      segments[i + 1] = ps.get(i).offset + ps.get(i).length;
      lrMult[i] = lrMultiplier(ps.get(i).name, optim);
      wdMult[i] = wdMultiplier(ps.get(i).name, optim);
    }
  }

  /** Reference initialisation from `seed`; the teacher starts as a copy of the student. */
  public static CapiTrainer create(ModelConfig model, OptimConfig optim, long seed, int threads) {
    return create(model, optim, seed, new Nd4jBackend(Precision.of(model.precision()), threads));
  }

  /** As {@link #create(ModelConfig, OptimConfig, long, int)} on a given backend, which the trainer then owns. */
  public static CapiTrainer create(ModelConfig model, OptimConfig optim, long seed, Backend backend) {
    if (backend.precision() != Precision.of(model.precision())) {
      backend.close();
      throw new IllegalArgumentException("model precision " + model.precision() + " on a " + backend.precision() + " backend");
    }
    CapiTrainer t = new CapiTrainer(model, optim, backend);
    Random rng = new Random(seed);
    Init.model(t.be, t.student, rng);
    Init.clustering(t.be, t.clustering, rng);
    t.be.copy(t.student.values(), t.teacher.values());
    return t;
  }

  /** get_params_groups: "patch_embed" → lr × patch mult; "rope" → lr × 0. */
  static double lrMultiplier(String name, OptimConfig o) {
    if (name.contains("rope")) return 0;
    return name.contains("patch_embed") ? o.patchEmbedLrMult() : 1;
  }

  /** get_params_groups: ".bias" → wd × 0; norm gains → wd × norm mult. */
  static double wdMultiplier(String name, OptimConfig o) {
    if (name.endsWith(".bias")) return 0;
    return name.contains("norm") && name.contains("weight") ? o.normWdMult() : 1;
  }

  public ModelConfig model() {
    return cfg;
  }

  /** Time per layer kind since the last reset (capi bench). */
  public Profile profile() {
    return profile;
  }

  // ---- the step ---------------------------------------------------------------------------------

  /** Teacher encoder on all patches, then the clustering logits (N, B, K). */
  public void teacherForward(StepInput in) {
    teacherForward(in, null);
  }

  /** As {@link #teacherForward(StepInput)} with float64 images (parity checks); null: in.images(). */
  public void teacherForward(StepInput in, double[] exactImages) {
    int n = cfg.patches(), d = cfg.dim();
    batch = in.batch();
    predictIndices = in.predictIndices();
    uploadImages(in.images(), exactImages);
    Tensor ctx = teacherBackbone.encode(images, batch, allPatches(batch), 0, null);
    // (B, R + N, D) → patch tokens position-major (N, B, D): the reference's transpose(0, 1)
    int seq = teacherBackbone.sequence(), r = cfg.registers();
    int[] rows = new int[n * batch];
    for (int p = 0; p < n; p++) {
      for (int b = 0; b < batch; b++) rows[p * batch + b] = b * seq + r + p;
    }
    tokens = teacherArena.get(tokens, (long) n * batch * d);
    be.gatherRows(ctx, rows, d, tokens);
    clusterLogits = clusteringHead.forward(tokens, n * batch);
  }

  /**
   * Sinkhorn-Knopp of logits/target-temp over the global batch → targets: per position, or over
   * the (N·B) tokens as one set (the reference's positionwise_sk = False; (N, B, K) is contiguous).
   */
  public void sinkhorn(Reducer reducer) {
    int n = cfg.patches(), k = cfg.prototypes();
    assignments = teacherArena.get(assignments, (long) n * batch * k);
    be.copy(clusterLogits, assignments);
    be.scale(assignments, 1 / cfg.targetTemp());
    if (cfg.positionwiseSinkhorn()) sinkhorn.run(assignments, n, batch, k, cfg.sinkhornIterations(), reducer);
    else sinkhorn.run(assignments, 1, n * batch, k, cfg.sinkhornIterations(), reducer);
    // student targets: rows b·N + p of (B, N, K) = rows p·B + b of (N, B, K)
    int[] rows = new int[predictIndices.length];
    for (int i = 0; i < rows.length; i++) rows[i] = (predictIndices[i] % n) * batch + predictIndices[i] / n;
    targets = teacherArena.get(targets, (long) rows.length * k);
    be.gatherRows(assignments, rows, k, targets);
  }

  /** loss_clustering: mean over the local N·B tokens; gradients into the clustering grad buffer. */
  public double clusteringForwardBackward() {
    int rows = cfg.patches() * batch, k = cfg.prototypes();
    long t0 = Profile.now();
    dClusterLogits = teacherArena.get(dClusterLogits, (long) rows * k);
    double sum = be.softTargetCrossEntropy(clusterLogits, assignments, rows, k, cfg.clusteringTemp(), dClusterLogits, 1.0 / rows);
    profile.add(Profile.Kind.LOSS, false, t0);
    be.fill(clustering.grads(), 0);
    clusteringHead.backward(dClusterLogits);
    clusteringStaged = false;
    return sum / rows;
  }

  /** loss_capi: mean over the local B·P predictions; gradients into the student grad buffer. */
  public double studentForwardBackward(StepInput in, long dropPathSeed) {
    return studentForwardBackward(in, dropPathSeed, null);
  }

  /** As {@link #studentForwardBackward(StepInput, long)} with float64 images; null: in.images(). */
  public double studentForwardBackward(StepInput in, long dropPathSeed, double[] exactImages) {
    if (!java.util.Arrays.equals(in.predictIndices(), predictIndices)) {
      throw new IllegalStateException("studentForwardBackward needs the StepInput of the preceding teacherForward");
    }
    int rows = in.predictIndices().length, k = cfg.prototypes();
    uploadImages(in.images(), exactImages);
    SplittableRandom rng = cfg.dropPathRate() > 0 ? new SplittableRandom(dropPathSeed) : null;
    be.fill(student.grads(), 0);
    studentBackbone.encode(images, in.batch(), in.visibleIndices(), cfg.dropPathRate(), rng);
    predTokens = studentBackbone.predict(in.predictIndices(), cfg.predDepth(), rng);
    studentLogits = studentHead.forward(predTokens, rows);
    long t0 = Profile.now();
    dLogits = studentArena.get(dLogits, (long) rows * k);
    double sum = be.softTargetCrossEntropy(studentLogits, targets, rows, k, cfg.studentTemp(), dLogits, 1.0 / rows);
    profile.add(Profile.Kind.LOSS, false, t0);
    dPred = studentArena.get(dPred, (long) rows * cfg.predDim());
    studentHead.backward(dLogits, dPred);
    studentBackbone.backward(dPred);
    studentStaged = false;
    return sum / rows;
  }

  /** Mean entropy of the local targets (B·P rows). */
  public double targetEntropy() {
    int rows = predictIndices.length;
    return be.entropyRows(targets, rows, cfg.prototypes()) / rows;
  }

  /** The whole student gradient as float32 (direct, native order); reduce it in place before apply. */
  public ByteBuffer studentGradients() {
    studentGradStage = stage(studentGradStage, student.grads());
    studentStaged = true;
    return studentGradStage;
  }

  /** The whole clustering-head gradient, likewise. */
  public ByteBuffer clusteringGradients() {
    clusteringGradStage = stage(clusteringGradStage, clustering.grads());
    clusteringStaged = true;
    return clusteringGradStage;
  }

  private ByteBuffer stage(ByteBuffer buf, Tensor grads) {
    if (buf == null) buf = ByteBuffer.allocateDirect((int) (4 * grads.length())).order(ByteOrder.nativeOrder());
    be.download(grads, buf.asFloatBuffer());
    return buf;
  }

  /**
   * Student AdamW (lr × multipliers, wd × multipliers), then the EMA of the teacher with the new
   * student weights, then the clustering AdamW: the reference's order. Gradients handed out by
   * {@link #studentGradients()} / {@link #clusteringGradients()} are read back (reduced) first.
   */
  public void apply(double lr, double momentum, double clusteringLr) {
    if (studentStaged) be.upload(studentGradStage.asFloatBuffer(), student.grads());
    if (clusteringStaged) be.upload(clusteringGradStage.asFloatBuffer(), clustering.grads());
    studentStaged = clusteringStaged = false;
    long t0 = Profile.now();
    step++;
    double[] lrs = new double[lrMult.length], wds = new double[wdMult.length];
    for (int i = 0; i < lrs.length; i++) {
      lrs[i] = lr * lrMult[i];
      wds[i] = optim.weightDecay() * wdMult[i];
    }
    be.adamw(student.values(), student.grads(), studentM, studentV, segments, lrs, wds,
        optim.beta1(), optim.beta2(), optim.eps(), step);
    be.ema(teacher.values(), student.values(), momentum);
    be.adamw(clustering.values(), clustering.grads(), clusteringM, clusteringV, new long[] {0, clustering.length()},
        new double[] {clusteringLr}, new double[] {optim.clusteringWeightDecay()},
        optim.beta1(), optim.beta2(), optim.eps(), step);
    profile.add(Profile.Kind.OPTIMIZER, false, t0);
  }

  /** L2 norm of the student gradient (after the reduction when it was read back by apply). */
  public double gradientNorm() {
    if (studentStaged) {
      be.upload(studentGradStage.asFloatBuffer(), student.grads()); // the reduced values, once
      studentStaged = false;
    }
    return Math.sqrt(be.sumSquares(student.grads()));
  }

  /** Bytes of backend memory held (parameters, optimiser state, activations): flat over a run. */
  public long backendBytes() {
    return be.allocatedBytes();
  }

  public long teacherChecksum() {
    return be.checksum(teacher.values());
  }

  public long optimizerStep() {
    return step;
  }

  public void setOptimizerStep(long t) {
    step = t;
  }

  // ---- evaluation -------------------------------------------------------------------------------

  /** Teacher backbone on all patches (reference EncoderDecoder.forward). */
  public EvalOutput evalForward(float[] imageData, int batch) {
    return evalForward(imageData, null, batch);
  }

  /** As {@link #evalForward(float[], int)}, with float64 images when exactImages is not null. */
  public EvalOutput evalForward(float[] imageData, double[] exactImages, int batch) {
    int n = cfg.patches(), d = cfg.dim(), r = cfg.registers(), dp = cfg.predDim();
    uploadImages(imageData, exactImages);
    int[] all = allPatches(batch);
    double[] c = whole(teacherBackbone.encode(images, batch, all, 0, null));
    int seq = r + n;
    evalRegisters = new double[batch * r * d];
    evalFeatures = new double[batch * n * d];
    double[] mean = new double[batch * d];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(c, b * seq * d, evalRegisters, b * r * d, r * d);
      System.arraycopy(c, (b * seq + r) * d, evalFeatures, b * n * d, n * d);
    }
    // predictor pooling: queries at all positions, the first block's output after dec_norm, averaged
    double[] p = whole(teacherBackbone.predict(all, 1, null));
    evalGlobal = new double[batch * dp];
    for (int b = 0; b < batch; b++) {
      for (int q = 0; q < n; q++) {
        for (int j = 0; j < dp; j++) evalGlobal[b * dp + j] += p[(b * n + q) * dp + j] / n;
        for (int j = 0; j < d; j++) mean[b * d + j] += evalFeatures[(b * n + q) * d + j] / n;
      }
    }
    return new EvalOutput(
        named("global_repr", evalGlobal, batch, dp),
        named("registers", evalRegisters, batch, r, d),
        named("feature_map", evalFeatures, batch, cfg.gridH(), cfg.gridW(), d),
        named("patch_mean", mean, batch, d));
  }

  private static NamedTensor named(String name, double[] values, int... shape) {
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
    return new NamedTensor(name, shape, f);
  }

  private int[] allPatches(int batch) {
    int[] all = new int[batch * cfg.patches()];
    for (int i = 0; i < all.length; i++) all[i] = i;
    return all;
  }

  private void uploadImages(float[] data, double[] exact) {
    int n = exact != null ? exact.length : data.length;
    images = teacherArena.get(images, n);
    if (exact != null) be.upload(exact, 0, images, 0, n);
    else be.upload(data, 0, images, 0, n);
  }

  // ---- state ------------------------------------------------------------------------------------

  /** Every parameter and optimiser moment as float32 copies under "student/…", "teacher/…", ... */
  public LinkedHashMap<String, NamedTensor> state() {
    LinkedHashMap<String, NamedTensor> out = new LinkedHashMap<>();
    for (Slot s : slots()) {
      float[] data = new float[(int) s.param.length];
      be.download(s.buffer, s.param.offset, data, 0, data.length);
      out.put(s.key, new NamedTensor(s.key, s.param.shape, data));
    }
    return out;
  }

  /** The exact inverse of {@link #state()}; every tensor must be present with its shape. */
  public void loadState(Map<String, NamedTensor> state) {
    for (Slot s : slots()) {
      NamedTensor t = state.get(s.key);
      if (t == null) throw new IllegalArgumentException("state: missing tensor " + s.key);
      if (!java.util.Arrays.equals(t.shape(), s.param.shape)) {
        throw new IllegalArgumentException("state: " + s.key + " has shape " + java.util.Arrays.toString(t.shape())
            + ", expected " + java.util.Arrays.toString(s.param.shape));
      }
      be.upload(t.data(), 0, s.buffer, s.param.offset, t.data().length);
    }
  }

  /** A named tensor of {@link #state()} as float64 (parity checks). */
  public double[] read(String key) {
    Slot s = slot(key);
    double[] out = new double[(int) s.param.length];
    be.download(s.buffer, s.param.offset, out, 0, out.length);
    return out;
  }

  /** Sets a named tensor of {@link #state()} from float64 values (parity checks). */
  public void write(String key, double[] values) {
    Slot s = slot(key);
    if (values.length != s.param.length) throw new IllegalArgumentException(key + ": " + values.length + " values, expected " + s.param.length);
    be.upload(values, 0, s.buffer, s.param.offset, values.length);
  }

  /** The shape of a named tensor of {@link #state()}. */
  public int[] shape(String key) {
    return slot(key).param.shape.clone();
  }

  /**
   * The last step's intermediates and gradients as float64, under the golden vectors' keys:
   * teacher/patch_tokens (B, N, D), teacher/cluster_logits, teacher/assignments (N, B, K),
   * teacher/targets (B·P, K), student/pred_tokens (B·P, Dp), student/logits (B·P, K),
   * grad/student/NAME, grad/clustering/NAME; and of the last evalForward: eval/global_repr,
   * eval/registers, eval/feature_map.
   */
  public double[] probe(String key) {
    if (key.startsWith("grad/student/")) return slice(student.grads(), student.get(key.substring(13)));
    if (key.startsWith("grad/clustering/")) return slice(clustering.grads(), clustering.get(key.substring(16)));
    return switch (key) {
      case "teacher/patch_tokens" -> patchTokensBatchMajor();
      case "teacher/cluster_logits" -> whole(clusterLogits);
      case "teacher/assignments" -> whole(assignments);
      case "teacher/targets" -> whole(targets);
      case "student/pred_tokens" -> whole(predTokens);
      case "student/logits" -> whole(studentLogits);
      case "eval/global_repr" -> evalGlobal.clone();
      case "eval/registers" -> evalRegisters.clone();
      case "eval/feature_map" -> evalFeatures.clone();
      default -> throw new IllegalArgumentException("no probe " + key);
    };
  }

  private double[] patchTokensBatchMajor() {
    int n = cfg.patches(), d = cfg.dim();
    double[] t = whole(tokens), out = new double[t.length];
    for (int p = 0; p < n; p++) {
      for (int b = 0; b < batch; b++) System.arraycopy(t, (p * batch + b) * d, out, (b * n + p) * d, d);
    }
    return out;
  }

  private double[] whole(Tensor t) {
    double[] out = new double[(int) t.length()];
    be.download(t, 0, out, 0, out.length);
    return out;
  }

  private double[] slice(Tensor buf, Param p) {
    double[] out = new double[(int) p.length];
    be.download(buf, p.offset, out, 0, out.length);
    return out;
  }

  private record Slot(String key, Param param, Tensor buffer) {}

  private List<Slot> slots() {
    List<Slot> out = new ArrayList<>();
    for (Param p : student.params()) out.add(new Slot("student/" + p.name, p, student.values()));
    for (Param p : teacher.params()) out.add(new Slot("teacher/" + p.name, p, teacher.values()));
    for (Param p : clustering.params()) out.add(new Slot("clustering/" + p.name, p, clustering.values()));
    for (Param p : student.params()) out.add(new Slot("optim/student/exp_avg/" + p.name, p, studentM));
    for (Param p : student.params()) out.add(new Slot("optim/student/exp_avg_sq/" + p.name, p, studentV));
    for (Param p : clustering.params()) out.add(new Slot("optim/clustering/exp_avg/" + p.name, p, clusteringM));
    for (Param p : clustering.params()) out.add(new Slot("optim/clustering/exp_avg_sq/" + p.name, p, clusteringV));
    return out;
  }

  private Slot slot(String key) {
    for (Slot s : slots()) if (s.key.equals(key)) return s;
    throw new IllegalArgumentException("no tensor " + key);
  }

  /** Names of the student parameters (the reference's), in buffer order. */
  public List<String> studentParameterNames() {
    List<String> out = new ArrayList<>();
    for (Param p : student.params()) out.add(p.name);
    return out;
  }

  /** lr and wd multipliers of a student parameter (get_params_groups). */
  public double[] multipliers(String name) {
    student.get(name);
    return new double[] {lrMultiplier(name, optim), wdMultiplier(name, optim)};
  }

  @Override
  public void close() {
    studentArena.close();
    teacherArena.close();
    student.close();
    teacher.close();
    clustering.close();
    be.free(studentM);
    be.free(studentV);
    be.free(clusteringM);
    be.free(clusteringV);
    be.close();
  }
}
