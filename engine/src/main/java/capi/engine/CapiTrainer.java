package capi.engine;

import capi.config.ModelConfig;
import capi.config.OptimConfig;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * One CAPI worker's model and training step (docs/ALGORITHM.md §3–§4), in phases the runtime drives:
 * {@link #teacherForward} (uploads the step's inputs) → {@link #sinkhorn} →
 * {@link #clusteringForwardBackward} → {@link #studentForwardBackward} → (all-reduce of
 * {@link #gradients()}) → {@link #apply} → {@link #stepScalars()} (the step's one read-back).
 *
 * <p>Buffers (master dtype unless said): parameters [student | clustering head] in one buffer,
 * their gradients, Adam moments likewise (so the update is one pass and the all-reduce one
 * message); the teacher (the student's EMA, same layout as the student) in its own; compute
 * copies of the weights when the compute dtype differs; a small F64 scalars tensor the losses,
 * target entropy and gradient norm are written into. Names are the reference's. The optimiser
 * step counter is not part of {@link #state()}: use {@link #optimizerStep()}.
 */
public final class CapiTrainer implements AutoCloseable {
  private static final int LOSS_CAPI = 0, LOSS_CLUSTERING = 1, ENTROPY = 2, GRAD_SQUARES = 3, SLOTS = 4;
  private static final String ROPE = "rope.freqs";

  /** What a step computed, read back once: local mean losses, the targets' mean entropy, the reduced gradient's norm. */
  public record StepScalars(double lossCapi, double lossClustering, double targetEntropy, double gradNorm) {}

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
  private final Indices indices;
  private final List<Tensor> owned = new ArrayList<>();
  private final Tensor params, grads, moment1, moment2, teacherValues, scalars;
  private final long studentLength;
  private final long[] segments;
  private final double[] lrMult, wdMult, lrs, wds;
  private final double[] scalarsHost = new double[SLOTS];
  private long step;
  // per-step state
  private int batch;
  private int[] predictIndices;
  private final Block.Keep[] keeps; // per student branch, this step's (null: every sample)
  private Tensor pixels, images, tokens, assignments, targets, clusterLogits, predTokens, studentLogits;
  private ByteBuffer gradStage, gradMessage;
  private boolean staged;
  private double[] evalGlobal, evalRegisters, evalFeatures;

  private CapiTrainer(ModelConfig cfg, OptimConfig optim, Backend be) {
    this.cfg = cfg;
    this.optim = optim;
    this.be = be;
    studentArena = new Arena(be, profile);
    teacherArena = new Arena(be, profile);
    indices = new Indices(studentArena);
    studentBackbone = new Backbone(student, cfg, studentArena, false);
    studentHead = new StudentHead(student, cfg.predDim(), cfg.prototypes(), studentArena);
    teacherBackbone = new Backbone(teacher, cfg, teacherArena, true);
    new StudentHead(teacher, cfg.predDim(), cfg.prototypes(), teacherArena); // the EMA head: kept, unused
    clusteringHead = new ClusteringHead(clustering, cfg.dim(), cfg.prototypes(), teacherArena);
    sinkhorn = new Sinkhorn(teacherArena);
    Precision p = be.precision();
    studentLength = student.length();
    long all = studentLength + clustering.length();
    params = own(p.master(), all);
    grads = own(p.master(), all);
    moment1 = own(p.master(), all);
    moment2 = own(p.master(), all);
    teacherValues = own(p.master(), studentLength);
    scalars = own(DType.F64, SLOTS);
    boolean copies = p.compute() != p.master();
    Tensor compute = copies ? own(p.compute(), all) : null;
    student.bind(be, be.view(params, 0, studentLength), be.view(grads, 0, studentLength),
        copies ? be.view(compute, 0, studentLength) : null);
    clustering.bind(be, be.view(params, studentLength, clustering.length()),
        be.view(grads, studentLength, clustering.length()),
        copies ? be.view(compute, studentLength, clustering.length()) : null);
    teacher.bind(be, teacherValues, null, copies ? own(p.compute(), studentLength) : null);
    List<Param> ps = student.params();
    segments = new long[ps.size() + 2];
    lrMult = new double[ps.size()];
    wdMult = new double[ps.size()];
    for (int i = 0; i < ps.size(); i++) {
      segments[i + 1] = ps.get(i).offset + ps.get(i).length;
      lrMult[i] = lrMultiplier(ps.get(i).name, optim);
      wdMult[i] = wdMultiplier(ps.get(i).name, optim);
    }
    segments[ps.size() + 1] = all; // the clustering head, one segment
    lrs = new double[ps.size() + 1];
    wds = new double[ps.size() + 1];
    keeps = new Block.Keep[2 * (cfg.depth() + cfg.predDepth())];
  }

  private Tensor own(DType dtype, long length) {
    Tensor t = be.allocate(dtype, length);
    owned.add(t);
    return t;
  }

  /**
   * Reference initialisation from `seed` on `backend` (the trainer owns and closes it); the
   * teacher starts as a copy of the student. The backend's precision is the training precision.
   */
  public static CapiTrainer create(ModelConfig model, OptimConfig optim, long seed, Backend backend) {
    CapiTrainer t = new CapiTrainer(model, optim, backend);
    Random rng = new Random(seed);
    Init.model(t.be, t.student, rng);
    Init.clustering(t.be, t.clustering, rng);
    t.be.copy(t.student.values(), t.teacher.values());
    t.parametersChanged();
    return t;
  }

  /** get_params_groups: "patch_embed" → lr × patch mult; "rope" → lr × 0. */
  static double lrMultiplier(String name, OptimConfig o) {
    if (name.contains("rope")) return 0;
    return name.contains("patch_embed") ? o.patchEmbedLrMult() : 1;
  }

  /**
   * As {@link #create(ModelConfig, OptimConfig, long, Backend)} on the cpu backend in float32, on any
   * machine: evaluation and export (a checkpoint holds float32 values whatever engine trained it).
   */
  public static CapiTrainer create(ModelConfig model, OptimConfig optim, long seed, int threads) {
    return create(model, optim, seed, Backends.create("cpu", Precision.FLOAT32, 0, threads));
  }

  /** get_params_groups: ".bias" → wd × 0; norm gains → wd × norm mult. */
  static double wdMultiplier(String name, OptimConfig o) {
    if (name.endsWith(".bias")) return 0;
    return name.contains("norm") && name.contains("weight") ? o.normWdMult() : 1;
  }

  /**
   * Parameters were set from the host: reads the frozen RoPE frequencies back (their tables are
   * cached by value) and drops the cached tables. A teacher whose frequencies differ from the
   * student's is not frozen (the EMA moves it): its tables are recomputed every forward.
   */
  private void parametersChanged() {
    student.syncHost(ROPE);
    teacher.syncHost(ROPE);
    boolean same = true;
    for (Param p : teacher.params()) {
      if (p.name.contains(ROPE)) same &= java.util.Arrays.equals(p.host, student.get(p.name).host);
    }
    if (!same) for (Param p : teacher.params()) if (p.name.contains(ROPE)) p.host = null;
    studentBackbone.invalidateRope();
    teacherBackbone.invalidateRope();
  }

  public ModelConfig model() {
    return cfg;
  }

  /** One line about the backend (device, threads). */
  public String backendDescription() {
    return be.describe();
  }

  public Precision precision() {
    return be.precision();
  }

  /** Time per layer kind since the last reset (capi bench). */
  public Profile profile() {
    return profile;
  }

  // ---- the step ---------------------------------------------------------------------------------

  /**
   * Uploads the step (images as U8 and every index set in one transfer; the drop-path samples
   * are drawn here from in.dropPathSeed()), then the teacher encoder on all patches and the
   * clustering logits (N, B, K).
   */
  public void teacherForward(StepInput in) {
    teacherForward(in, null);
  }

  /** As {@link #teacherForward(StepInput)} with float64 images (parity checks) instead of in.pixels(). */
  public void teacherForward(StepInput in, double[] exactImages) {
    int n = cfg.patches(), d = cfg.dim();
    batch = in.batch();
    predictIndices = in.predictIndices();
    uploadStep(in);
    uploadImages(in.pixels(), in.mean(), in.std(), exactImages, batch);
    be.fill(grads, 0);
    teacher.refreshCompute();
    clustering.refreshCompute();
    Tensor ctx = teacherBackbone.encode(images, batch, indices, "teacher", true, null, false);
    tokens = teacherArena.get(this, "tokens", be.precision().compute(), (long) n * batch * d);
    be.gatherRows(ctx, indices.get("tokens"), d, tokens); // (B, R + N, D) → patch tokens (N, B, D)
    clusterLogits = clusteringHead.forward(tokens, (long) n * batch);
  }

  /** Fills and uploads every index set of the step. */
  private void uploadStep(StepInput in) {
    int n = cfg.patches(), r = cfg.registers(), seq = r + n;
    indices.clear();
    teacherBackbone.indexEncode(indices, "teacher", batch, null);
    studentBackbone.indexEncode(indices, "student", batch, in.visibleIndices());
    studentBackbone.indexPredict(indices, "student", batch, in.predictIndices());
    // the reference's transpose(0, 1): row p·B + b of the tokens is row b·(R + N) + R + p of the encoder output
    int at = indices.reserve("tokens", n * batch);
    for (int p = 0; p < n; p++) {
      for (int b = 0; b < batch; b++) indices.host()[at + p * batch + b] = b * seq + r + p;
    }
    // student targets: rows b·N + p of (B, N, K) = rows p·B + b of the (N, B, K) assignments
    at = indices.reserve("targets", predictIndices.length);
    for (int i = 0; i < predictIndices.length; i++) {
      indices.host()[at + i] = (predictIndices[i] % n) * batch + predictIndices[i] / n;
    }
    java.util.Arrays.fill(keeps, null);
    if (cfg.dropPathRate() > 0) {
      SplittableRandom rng = new SplittableRandom(in.dropPathSeed()); // drawn in block order, branch 1 then 2
      for (int i = 0; i < keeps.length; i++) {
        int[] k = DropPath.keep(batch, cfg.dropPathRate(), rng);
        if (k.length < batch) indices.put("keep." + i, k);
      }
    }
    indices.upload();
    for (int i = 0; i < keeps.length; i++) {
      if (indices.has("keep." + i)) keeps[i] = new Block.Keep(indices.length("keep." + i), indices.get("keep." + i));
    }
  }

  /**
   * Sinkhorn-Knopp of the clustering logits at target-temp over the global batch → assignments,
   * per position or over the (N·B) tokens as one set (the reference's positionwise_sk = False;
   * (N, B, K) is contiguous); then the student targets and their entropy.
   */
  public void sinkhorn(Reducer reducer) {
    int n = cfg.patches(), k = cfg.prototypes();
    assignments = teacherArena.get(this, "assignments", be.precision().master(), (long) n * batch * k);
    if (cfg.positionwiseSinkhorn()) {
      sinkhorn.run(clusterLogits, assignments, n, batch, k, cfg.sinkhornIterations(), cfg.targetTemp(), reducer);
    } else {
      sinkhorn.run(clusterLogits, assignments, 1, n * batch, k, cfg.sinkhornIterations(), cfg.targetTemp(), reducer);
    }
    targets = teacherArena.get(this, "targets", be.precision().master(), (long) predictIndices.length * k);
    be.gatherRows(assignments, indices.get("targets"), k, targets);
    be.entropyRows(targets, predictIndices.length, k, scalars, ENTROPY);
  }

  /** loss_clustering (mean over the local N·B tokens, into the scalars); gradients into the clustering head's. */
  public void clusteringForwardBackward() {
    long rows = (long) cfg.patches() * batch;
    int k = cfg.prototypes();
    long t0 = Profile.now();
    Tensor dLogits = teacherArena.get(this, "dClusterLogits", be.precision().compute(), rows * k);
    be.softTargetCrossEntropy(clusterLogits, assignments, rows, k, cfg.clusteringTemp(), dLogits, 1.0 / rows, scalars,
        LOSS_CLUSTERING);
    profile.add(Profile.Kind.LOSS, false, t0);
    clusteringHead.backward(dLogits);
  }

  /** loss_capi (mean over the local B·P predictions, into the scalars); gradients into the student's. */
  public void studentForwardBackward() {
    int rows = predictIndices.length, k = cfg.prototypes();
    student.refreshCompute();
    studentBackbone.encode(images, batch, indices, "student", false, keeps, true);
    predTokens = studentBackbone.predict(indices, "student", false, cfg.predDepth(), keeps, true);
    studentLogits = studentHead.forward(predTokens, rows);
    long t0 = Profile.now();
    Tensor dLogits = studentArena.get(this, "dLogits", be.precision().compute(), (long) rows * k);
    be.softTargetCrossEntropy(studentLogits, targets, rows, k, cfg.studentTemp(), dLogits, 1.0 / rows, scalars, LOSS_CAPI);
    profile.add(Profile.Kind.LOSS, false, t0);
    Tensor dPred = studentArena.get(this, "dPred", be.precision().master(), (long) rows * cfg.predDim());
    studentHead.backward(dLogits, dPred);
    studentBackbone.backward(dPred, indices);
  }

  /**
   * The whole gradient, student then clustering head, as float32 (direct, native order, exactly
   * {@link #gradientCount()} values): reduce it in place (one all-reduce); {@link #apply} reads it back.
   */
  public ByteBuffer gradients() {
    long bytes = 4 * grads.length();
    if (gradStage == null) {
      gradStage = be.hostBuffer(bytes);
      gradMessage = gradStage.duplicate().order(gradStage.order()).position(0).limit((int) bytes).slice()
          .order(gradStage.order());
    }
    be.stage(grads, gradStage);
    staged = true;
    return gradMessage.clear();
  }

  /** Values in {@link #gradients()}: student and clustering-head parameters. */
  public int gradientCount() {
    return (int) grads.length();
  }

  /**
   * The gradient norm of the student (after the reduction, when {@link #gradients()} was handed
   * out), then one pass of student AdamW (lr × multipliers, wd × multipliers), the teacher's EMA
   * with the new student weights and the clustering AdamW: the reference's order.
   */
  public void apply(double lr, double momentum, double clusteringLr) {
    if (staged) be.unstage(gradStage, grads);
    staged = false;
    long t0 = Profile.now();
    be.sumSquares(student.grads(), scalars, GRAD_SQUARES);
    step++;
    for (int i = 0; i < lrMult.length; i++) {
      lrs[i] = lr * lrMult[i];
      wds[i] = optim.weightDecay() * wdMult[i];
    }
    lrs[lrMult.length] = clusteringLr;
    wds[lrMult.length] = optim.clusteringWeightDecay();
    be.adamw(params, grads, moment1, moment2, segments, lrs, wds, optim.beta1(), optim.beta2(), optim.eps(), step,
        teacherValues, momentum);
    profile.add(Profile.Kind.OPTIMIZER, false, t0);
  }

  /**
   * The step's scalars in one read: the losses and target entropy of the current step, the
   * gradient norm of the last {@link #apply}.
   */
  public StepScalars stepScalars() {
    be.download(scalars, 0, scalarsHost, 0, SLOTS);
    double tokensPerStep = (double) cfg.patches() * batch, predictions = predictIndices.length;
    return new StepScalars(scalarsHost[LOSS_CAPI] / predictions, scalarsHost[LOSS_CLUSTERING] / tokensPerStep,
        scalarsHost[ENTROPY] / predictions, Math.sqrt(scalarsHost[GRAD_SQUARES]));
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

  /** Teacher backbone on all patches (reference EncoderDecoder.forward) of U8 images (B, C, H, W). */
  public EvalOutput evalForward(byte[] pixels, double[] mean, double[] std, int batch) {
    return evalForward(pixels, mean, std, null, batch);
  }

  /** As {@link #evalForward(byte[], double[], double[], int)} with float64 images (parity checks). */
  public EvalOutput evalForward(double[] exactImages, int batch) {
    return evalForward(null, null, null, exactImages, batch);
  }

  private EvalOutput evalForward(byte[] pixelData, double[] mean, double[] std, double[] exactImages, int batch) {
    int n = cfg.patches(), d = cfg.dim(), r = cfg.registers(), dp = cfg.predDim();
    indices.clear();
    teacherBackbone.indexEncode(indices, "eval", batch, null);
    teacherBackbone.indexPredict(indices, "eval", batch, null);
    indices.upload();
    uploadImages(pixelData, mean, std, exactImages, batch);
    teacher.refreshCompute();
    double[] c = whole(teacherBackbone.encode(images, batch, indices, "eval", true, null, false));
    int seq = r + n;
    evalRegisters = new double[batch * r * d];
    evalFeatures = new double[batch * n * d];
    double[] patchMean = new double[batch * d];
    for (int b = 0; b < batch; b++) {
      System.arraycopy(c, b * seq * d, evalRegisters, b * r * d, r * d);
      System.arraycopy(c, (b * seq + r) * d, evalFeatures, b * n * d, n * d);
    }
    // predictor pooling: queries at all positions, the first block's output after dec_norm, averaged
    double[] p = whole(teacherBackbone.predict(indices, "eval", true, 1, null, false));
    evalGlobal = new double[batch * dp];
    for (int b = 0; b < batch; b++) {
      for (int q = 0; q < n; q++) {
        for (int j = 0; j < dp; j++) evalGlobal[b * dp + j] += p[(b * n + q) * dp + j] / n;
        for (int j = 0; j < d; j++) patchMean[b * d + j] += evalFeatures[(b * n + q) * d + j] / n;
      }
    }
    return new EvalOutput(
        named("global_repr", evalGlobal, batch, dp),
        named("registers", evalRegisters, batch, r, d),
        named("feature_map", evalFeatures, batch, cfg.gridH(), cfg.gridW(), d),
        named("patch_mean", patchMean, batch, d));
  }

  private static NamedTensor named(String name, double[] values, int... shape) {
    float[] f = new float[values.length];
    for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
    return new NamedTensor(name, shape, f);
  }

  /** images (B, C, H, W, compute dtype) ← U8 pixels normalised per channel, or float64 images as they are. */
  private void uploadImages(byte[] pixelData, double[] mean, double[] std, double[] exact, int batch) {
    long plane = (long) cfg.imageHeight() * cfg.imageWidth(), n = batch * cfg.inChannels() * plane;
    images = teacherArena.get(this, "images", be.precision().compute(), n);
    if (exact != null) {
      if (exact.length != n) throw new IllegalArgumentException(exact.length + " image values, expected " + n);
      be.upload(exact, 0, images, 0, (int) n);
      return;
    }
    if (pixelData == null || pixelData.length != n) {
      throw new IllegalArgumentException((pixelData == null ? 0 : pixelData.length) + " pixels, expected " + n);
    }
    if (mean == null || std == null || mean.length != cfg.inChannels() || std.length != cfg.inChannels()) {
      throw new IllegalArgumentException("image mean and std need " + cfg.inChannels() + " values each");
    }
    pixels = teacherArena.get(this, "pixels", DType.U8, n);
    be.upload(pixelData, 0, pixels, 0, (int) n);
    be.normalizeImages(pixels, cfg.inChannels(), plane, mean, std, images);
  }

  // ---- state ------------------------------------------------------------------------------------

  /** Every parameter and optimiser moment as float32 copies under "student/…", "teacher/…", ... */
  public LinkedHashMap<String, NamedTensor> state() {
    LinkedHashMap<String, NamedTensor> out = new LinkedHashMap<>();
    for (Slot s : slots()) {
      float[] data = new float[(int) s.param.length];
      be.download(s.buffer, s.base + s.param.offset, data, 0, data.length);
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
      be.upload(t.data(), 0, s.buffer, s.base + s.param.offset, t.data().length);
    }
    parametersChanged();
  }

  /** A named tensor of {@link #state()} as float64 (parity checks). */
  public double[] read(String key) {
    Slot s = slot(key);
    double[] out = new double[(int) s.param.length];
    be.download(s.buffer, s.base + s.param.offset, out, 0, out.length);
    return out;
  }

  /** Sets a named tensor of {@link #state()} from float64 values (parity checks). */
  public void write(String key, double[] values) {
    Slot s = slot(key);
    if (values.length != s.param.length) throw new IllegalArgumentException(key + ": " + values.length + " values, expected " + s.param.length);
    be.upload(values, 0, s.buffer, s.base + s.param.offset, values.length);
    parametersChanged();
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
    if (key.startsWith("grad/student/")) return slice(student.get(key.substring(13)).grad);
    if (key.startsWith("grad/clustering/")) return slice(clustering.get(key.substring(16)).grad);
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

  private double[] slice(Tensor view) {
    return whole(view);
  }

  /** A named window of a buffer: param's elements at base + param.offset. */
  private record Slot(String key, Param param, Tensor buffer, long base) {}

  private List<Slot> slots() {
    List<Slot> out = new ArrayList<>();
    for (Param p : student.params()) out.add(new Slot("student/" + p.name, p, params, 0));
    for (Param p : teacher.params()) out.add(new Slot("teacher/" + p.name, p, teacherValues, 0));
    for (Param p : clustering.params()) out.add(new Slot("clustering/" + p.name, p, params, studentLength));
    for (Param p : student.params()) out.add(new Slot("optim/student/exp_avg/" + p.name, p, moment1, 0));
    for (Param p : student.params()) out.add(new Slot("optim/student/exp_avg_sq/" + p.name, p, moment2, 0));
    for (Param p : clustering.params()) out.add(new Slot("optim/clustering/exp_avg/" + p.name, p, moment1, studentLength));
    for (Param p : clustering.params()) out.add(new Slot("optim/clustering/exp_avg_sq/" + p.name, p, moment2, studentLength));
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
    for (Tensor t : owned) be.free(t);
    be.close();
  }
}
