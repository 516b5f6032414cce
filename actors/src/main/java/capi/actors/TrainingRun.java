package capi.actors;

import capi.collective.CollectiveNode;
import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.config.CollectiveConfig;
import capi.config.DataConfig;
import capi.config.EngineConfig;
import capi.config.Keys;
import capi.config.MonitoringConfig;
import capi.config.Overrides;
import capi.config.TrainConfig;
import capi.data.BatchSource;
import capi.data.DataCounters;
import capi.engine.Backends;
import capi.engine.NativeMemory;
import capi.engine.checkpoint.CheckpointStore;
import capi.eval.Evaluator;
import capi.eval.Probe;
import capi.monitoring.CapiMetrics;
import capi.monitoring.MetricsServer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of a training run. Without cluster settings it is a whole run on this machine with K
 * workers (`capi train`, `capi resume`); with them it joins a multi-node cluster (`capi node`).
 * Starts the metrics endpoint, the collective (shared memory, or a media driver for udp), the
 * actor system; blocks until the run ends; releases everything it started.
 */
public final class TrainingRun {
  static final String SYSTEM = "capi";
  private static final Logger LOG = LoggerFactory.getLogger(TrainingRun.class);
  /** How long a node waits for its actor system to stop once the run ended. */
  private static final Duration TERMINATION_WAIT = Duration.ofSeconds(20);

  /**
   * Set by {@link #requestStop} (the CLI's SIGTERM/SIGINT handlers): the run checkpoints after the
   * step in flight and ends as if it had reached its last step, so a pre-empted job loses nothing;
   * on a node without the coordinator, the node's workers leave the ring after that checkpoint.
   */
  private static final AtomicBoolean STOP_REQUESTED = new AtomicBoolean();
  /** Runs in progress in this JVM (guarded by its own monitor for awaitIdle). */
  private static final AtomicInteger ACTIVE = new AtomicInteger();
  /** Runs in progress in this JVM, and whether a worker of theirs joined a ring: a stop ends those that did not at once. */
  private static final Set<Running> RUNNING = ConcurrentHashMap.newKeySet();

  private record Running(CompletableFuture<RunResult> result, AtomicBoolean joinedRing) {}

  private TrainingRun() {}

  /**
   * Ends the runs of this JVM after their current step, with a checkpoint; whether any was running.
   * A node that has not trained yet (waiting for peers) has nothing to checkpoint: it ends at once.
   */
  public static boolean requestStop() {
    STOP_REQUESTED.set(true);
    for (Running run : RUNNING) {
      if (!run.joinedRing().get()) {
        run.result().complete(
            RunResult.failed("stopped by a signal before this node trained (nothing to checkpoint)", false));
      }
    }
    return ACTIVE.get() > 0;
  }

  /** Waits until no run of this JVM is in progress, at most {@code limit}. */
  public static void awaitIdle(Duration limit) throws InterruptedException {
    long end = System.nanoTime() + limit.toNanos();
    synchronized (ACTIVE) {
      for (long left; ACTIVE.get() > 0 && (left = end - System.nanoTime()) > 0; ) {
        TimeUnit.NANOSECONDS.timedWait(ACTIVE, left);
      }
    }
  }

  /**
   * @param config the resolved configuration of the run (as saved in the run directory)
   * @param runDir the run directory (created or opened by the caller)
   * @param cluster null for a single-node run
   */
  public static RunResult run(CapiConfig config, RunDirectory runDir, ClusterSettings cluster) throws Exception {
    ACTIVE.incrementAndGet();
    try {
      return runNode(config, runDir, cluster);
    } finally {
      synchronized (ACTIVE) {
        ACTIVE.decrementAndGet();
        ACTIVE.notifyAll();
      }
    }
  }

  /**
   * A GPU backend that cannot start on a device of this node's workers stops the run before it
   * starts (exit 2, with the backend's one-line reason) instead of failing every recovery.
   */
  private static void checkDevices(EngineConfig engine, int workers) {
    if (engine.backend() == EngineConfig.Backend.CPU) return;
    for (int i = 0; i < workers; i++) {
      try {
        Backends.create(engine, i, 1).close();
      } catch (IllegalArgumentException e) {
        throw BadConfigException.of(Keys.ENGINE_BACKEND, engine.backend().word(), "worker " + i + " on device "
            + engine.deviceOf(i) + ": " + e.getMessage());
      }
    }
  }

  /**
   * {@code capi.train.workers = 0} made concrete: one worker per device of the engine (the cpu: 1;
   * cuda: one per entry of capi.engine.devices, else per visible GPU). Other counts stay.
   */
  static CapiConfig withWorkers(CapiConfig config) {
    if (config.train().workers() > 0) return config;
    EngineConfig engine = config.engine();
    int devices = engine.devices().isEmpty() ? Backends.devices(engine.backend().word()) : engine.devices().size();
    if (devices == 0) {
      checkDevices(engine, 1); // says why the backend cannot start, when it cannot
      throw BadConfigException.of(Keys.TRAIN_WORKERS, 0, "one worker per device, but backend " + engine.backend().word()
          + " sees no device here (set the workers, or make a device visible)");
    }
    return config.with(Overrides.none().set("train.workers", devices));
  }

  private static RunResult runNode(CapiConfig given, RunDirectory runDir, ClusterSettings cluster) throws Exception {
    CapiConfig config = withWorkers(given);
    TrainConfig train = config.train();
    DataConfig data = config.data();
    CollectiveConfig collective = config.collective();
    MonitoringConfig monitoring = config.monitoring();
    int minNodes = cluster == null ? 1 : config.cluster().minNodes();
    checkDevices(config.engine(), train.workers());
    BatchSource source = BatchSource.of(config);
    CheckpointStore store = new CheckpointStore(runDir.checkpoints(), config.checkpoint().keep(), LOG::warn);

    CapiMetrics metrics = new CapiMetrics();
    metrics.skippedImages(DataCounters::skippedImages);
    metrics.nativeMemory(NativeMemory::allocatedBytes);
    metrics.setNodes(minNodes);
    CompletableFuture<RunResult> result = new CompletableFuture<>();
    AtomicBoolean joinedRing = new AtomicBoolean();
    boolean ring = cluster != null || train.workers() > 1;
    try (MetricsServer server = startMetrics(metrics, monitoring);
        StepLog stepLog = new StepLog(runDir.metrics(), metrics, train.steps(), train.batchSize(),
            source.dataset().size(), monitoring.progressInterval());
        CollectiveNode collectiveNode =
            ring ? CollectiveNode.start(collective, "node-" + ProcessHandle.current().pid()) : null) {
      long evalEvery = config.eval().everySteps();
      if (evalEvery > train.steps()) evalEvery = 0; // a run shorter than the interval is never evaluated
      Evaluator evaluator = evalEvery > 0
          ? Evaluator.of(config, Probe.ALL, true, train.effectiveThreadsPerWorker()) : null;
      int minNodesToContinue = Math.min(minNodes, config.cluster().minNodesToContinue());
      RunSpec spec = new RunSpec(train, config.checkpoint(), collective, runDir, store, train.steps(), train.workers() * minNodes,
          minNodes, minNodesToContinue, RunSchedules.of(config.optim(), train.steps()), evalEvery, metrics, stepLog, result,
          STOP_REQUESTED);
      List<Worker.Setup> workers = new ArrayList<>();
      for (int i = 0; i < train.workers(); i++) {
        workers.add(new Worker.Setup(config.model(), config.optim(), config.engine(), i, train.seed(), train.effectiveThreadsPerWorker(), source,
            data.loaderThreads(), data.prefetch(), collectiveNode, collective, evaluator, joinedRing, STOP_REQUESTED));
      }
      ActorSystem<Void> system = ActorSystem.create(NodeGuardian.create(spec, workers, cluster != null), SYSTEM,
          pekkoConfig(config.cluster().pekko(), train.workers(), cluster));
      // A system that stops before the run ends (a downed node, a refused join) ends the process with the
      // reason, as soon as its shutdown begins: the rest of the shutdown (Artery's flush) can hang.
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "capi-run-ends", () -> {
        if (ClusterNode.refusedOrDowned(system)) result.complete(RunResult.failed(ClusterNode.whyTerminated(system), false));
        return CompletableFuture.completedFuture(Done.getInstance());
      });
      system.getWhenTerminated().thenRun(() -> result.complete(RunResult.failed(ClusterNode.whyTerminated(system), false)));
      Running running = new Running(result, joinedRing);
      RUNNING.add(running);
      try {
        if (cluster != null) ClusterNode.start(system, cluster);
        if (STOP_REQUESTED.get()) requestStop(); // a signal that came before this run was registered
        return result.get();
      } finally {
        RUNNING.remove(running);
        system.terminate();
        try {
          system.getWhenTerminated().toCompletableFuture().get(TERMINATION_WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
          LOG.warn("the node's actor system did not stop within {}; ending without it", TERMINATION_WAIT);
        }
      }
    }
  }

  /** The node's Prometheus endpoint; a port in use is a configuration error that names the key. */
  private static MetricsServer startMetrics(CapiMetrics metrics, MonitoringConfig monitoring) {
    try {
      return MetricsServer.start(metrics, monitoring.metricsHost(), monitoring.metricsPort());
    } catch (UncheckedIOException e) {
      if (e.getCause() instanceof BindException) {
        throw BadConfigException.of(Keys.METRICS_PORT, monitoring.metricsPort(),
            "cannot listen on " + monitoring.metricsHost() + " (" + e.getCause().getMessage()
                + "); choose another port with --metrics-port (0 = any free port)");
      }
      throw e;
    }
  }

  /** The run's Pekko settings over Pekko's defaults, plus the workers' blocking dispatcher and the cluster. */
  static Config pekkoConfig(Config pekko, int workers, ClusterSettings cluster) {
    String dispatcher = NodeGuardian.WORKER_DISPATCHER + " {\n"
        + "  type = Dispatcher\n"
        + "  executor = thread-pool-executor\n"
        + "  thread-pool-executor.fixed-pool-size = " + workers + "\n"
        + "  throughput = 1\n"
        + "}\n";
    Config node = ConfigFactory.parseString(dispatcher);
    if (cluster != null) node = node.withFallback(cluster.pekkoConfig());
    return node.withFallback(pekko.atKey("pekko"))
        .withFallback(ConfigFactory.defaultReference());
  }
}
