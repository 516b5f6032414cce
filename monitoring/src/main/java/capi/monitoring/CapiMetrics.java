package capi.monitoring;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.function.LongSupplier;

/**
 * The metrics of one node: its own registry (not the static default one, so a test can hold
 * several), the JVM and process metrics, and typed methods the runtime calls as a run goes.
 * Names are {@code capi_*} in base units; counters are exposed with {@code _total}. The Grafana
 * dashboard and the alert rules under monitoring/ use exactly these names (a test checks it).
 *
 * <p>The run's global series ({@link #runStarted}, {@link #setNodes}, {@link #stepCompleted},
 * {@link #rankLag}, {@link #recovery}, {@link #checkpointWritten}, {@link #evalTop1}) are set on
 * the coordinator's node only, so that sums over nodes do not count a step twice; the node's own
 * ({@link #prefetchDepth}, {@link #skippedImages}, {@link #nativeMemory}, JVM) on every node.
 */
public final class CapiMetrics {
  /** Phases of a step's time breakdown; the label values of capi_step_phase_seconds_total. */
  private static final String[] PHASES = {
    "data_wait", "teacher_forward", "sinkhorn", "student", "allreduce", "optimizer", "checkpoint"
  };

  private final PrometheusRegistry registry = new PrometheusRegistry();

  // progress
  private final Counter steps = counter("capi_steps", "Training steps completed.");
  private final Counter images = counter("capi_images", "Images trained on (global batch per step).");
  private final Gauge step = gauge("capi_step", "Last completed step.");
  private final Gauge epoch = gauge("capi_epoch", "Epoch of the last completed step (0-based).");
  private final Gauge lastStepTime = gauge("capi_last_step_timestamp_seconds",
      "Unix time of the last completed step, or of the run start before the first (staleness alerts).");
  private final Gauge runStart = gauge("capi_run_start_timestamp_seconds", "Unix time the run started.");
  private final Gauge runSteps = gauge("capi_run_steps", "Steps the run is set to reach.");
  private final Gauge worldSize = gauge("capi_world_size", "Workers in the ring.");
  private final Gauge nodes = gauge("capi_nodes", "Nodes in the cluster.");

  // objective
  private final Gauge lossCapi = gauge("capi_loss_capi", "Student loss of the last step.");
  private final Gauge lossClustering = gauge("capi_loss_clustering", "Clustering-head loss of the last step.");
  private final Gauge targetEntropy = gauge("capi_target_entropy", "Entropy of the Sinkhorn targets (nats).");
  private final Gauge lr = gauge("capi_lr", "Student learning rate.");
  private final Gauge momentum = gauge("capi_ema_momentum", "Teacher EMA momentum.");
  private final Gauge clusteringLr = gauge("capi_clustering_lr", "Clustering-head learning rate.");
  private final Gauge gradNorm = gauge("capi_grad_norm", "L2 norm of the averaged student gradient.");

  // time: a histogram of whole steps; the breakdown as seconds spent per phase, so that
  // rate(phase) / rate(steps) is the mean time of each phase in a step.
  private final Histogram stepSeconds = Histogram.builder()
      .name("capi_step_seconds").help("Wall time of a training step.")
      .classicOnly().classicExponentialUpperBounds(0.01, 2, 15) // 10 ms .. 164 s
      .register(registry);
  private final Counter phaseSeconds = Counter.builder()
      .name("capi_step_phase_seconds").help("Seconds spent in each phase of the steps.")
      .labelNames("phase").register(registry);

  // communication
  private final Counter allReduceBytes = counter("capi_allreduce_bytes",
      "Bytes all-reduced per worker (seconds: capi_step_phase_seconds_total{phase=\"allreduce\"}).");
  private final Gauge busbw = gauge("capi_allreduce_busbw_bytes_per_second",
      "All-reduce bus bandwidth of the last step: 2(n-1)/n * bytes / seconds.");
  private final Gauge rankLag = Gauge.builder()
      .name("capi_rank_arrival_lag_seconds").help("How long after the first rank each rank reached the step barrier.")
      .labelNames("rank").register(registry);

  // reliability and data
  private final Counter recoveries = Counter.builder()
      .name("capi_recoveries").help("Recoveries (ring re-formed, checkpoint reloaded) by reason.")
      .labelNames("reason").register(registry);
  private final Histogram checkpointSeconds = Histogram.builder()
      .name("capi_checkpoint_write_seconds").help("Wall time of writing one checkpoint; _count = checkpoints written.")
      .classicOnly().classicExponentialUpperBounds(0.1, 2, 12) // 0.1 s .. 205 s
      .register(registry);
  private final Gauge prefetchDepth = Gauge.builder()
      .name("capi_prefetch_queue_depth").help("Ready batches queued for each rank.")
      .labelNames("rank").register(registry);
  private final Gauge evalTop1 = Gauge.builder()
      .name("capi_eval_top1").help("Top-1 accuracy (0..1) of the latest frozen-feature evaluation.")
      .labelNames("probe", "features").register(registry);

  // values the runtime owns: read when scraped, absent until supplied
  private volatile LongSupplier skippedImages;
  private volatile LongSupplier nativeMemory;
  private volatile int lastWorldSize;

  public CapiMetrics() {
    CounterWithCallback.builder()
        .name("capi_skipped_images").help("Corrupt or undecodable images skipped by the data loaders.")
        .callback(cb -> { LongSupplier s = skippedImages; if (s != null) cb.call(s.getAsLong()); })
        .register(registry);
    GaugeWithCallback.builder()
        .name("capi_native_memory_bytes").help("Off-heap memory the tensor library has allocated.")
        .callback(cb -> { LongSupplier s = nativeMemory; if (s != null) cb.call(s.getAsLong()); })
        .register(registry);
    JvmMetrics.builder().register(registry); // jvm_* and process_*
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  /** A run (or a resumed run) begins: its target step count and its first world size. */
  public void runStarted(long totalSteps, int worldSize) {
    double now = nowSeconds();
    runStart.set(now);
    lastStepTime.set(now); // a run that never completes a step is stale 10 minutes after its start
    runSteps.set(totalSteps);
    setWorldSize(worldSize);
  }

  public void setNodes(int n) {
    nodes.set(n);
  }

  public void stepCompleted(StepReport r) {
    steps.inc();
    images.inc(r.images());
    step.set(r.step());
    epoch.set(r.epoch());
    lastStepTime.set(nowSeconds());
    setWorldSize(r.worldSize());
    lossCapi.set(r.lossCapi());
    lossClustering.set(r.lossClustering());
    targetEntropy.set(r.targetEntropy());
    lr.set(r.lr());
    momentum.set(r.momentum());
    clusteringLr.set(r.clusteringLr());
    gradNorm.set(r.gradNorm());
    stepSeconds.observe(r.stepSeconds());
    double[] phase = {r.dataWaitSeconds(), r.teacherForwardSeconds(), r.sinkhornSeconds(),
        r.studentSeconds(), r.allReduceSeconds(), r.optimizerSeconds()};
    for (int i = 0; i < phase.length; i++) phaseSeconds.labelValues(PHASES[i]).inc(phase[i]);
    allReduceBytes.inc(r.allReduceBytes());
    if (r.worldSize() > 1 && r.allReduceSeconds() > 0) {
      int n = r.worldSize();
      busbw.set(2.0 * (n - 1) / n * r.allReduceBytes() / r.allReduceSeconds());
    }
  }

  /** Arrival lag of one rank at the step barrier, relative to the earliest rank. */
  public void rankLag(int rank, double seconds) {
    rankLag.labelValues(Integer.toString(rank)).set(seconds);
  }

  /** A recovery happened; reason is a short word such as worker-lost, node-lost, timeout. */
  public void recovery(String reason) {
    recoveries.labelValues(reason).inc();
  }

  public void checkpointWritten(double seconds) {
    checkpointSeconds.observe(seconds);
    phaseSeconds.labelValues("checkpoint").inc(seconds);
  }

  /** The data loaders' running count of skipped images, read at each scrape. */
  public void skippedImages(LongSupplier count) {
    skippedImages = count;
  }

  public void prefetchDepth(int rank, int depth) {
    prefetchDepth.labelValues(Integer.toString(rank)).set(depth);
  }

  /** Off-heap bytes as the tensor library sees them (ND4J's), read at each scrape. */
  public void nativeMemory(LongSupplier bytes) {
    nativeMemory = bytes;
  }

  /** probe: knn | linear; features: e.g. global_repr. */
  public void evalTop1(String probe, String features, double top1) {
    evalTop1.labelValues(probe, features).set(top1);
  }

  // Ranks are renumbered when the ring re-forms: drop the per-rank series of the old ring.
  private void setWorldSize(int n) {
    if (n != lastWorldSize) {
      rankLag.clear();
      prefetchDepth.clear();
      lastWorldSize = n;
    }
    worldSize.set(n);
  }

  private Counter counter(String name, String help) {
    return Counter.builder().name(name).help(help).register(registry);
  }

  private Gauge gauge(String name, String help) {
    return Gauge.builder().name(name).help(help).register(registry);
  }

  private static double nowSeconds() {
    return System.currentTimeMillis() / 1000.0;
  }
}
