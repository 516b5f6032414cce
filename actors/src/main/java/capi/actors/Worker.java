package capi.actors;

import capi.collective.AllReduce;
import capi.collective.CollectiveException;
import capi.collective.CollectiveNode;
import capi.collective.Endpoint;
import capi.config.CollectiveConfig;
import capi.config.EngineConfig;
import capi.config.ModelConfig;
import capi.config.OptimConfig;
import capi.data.BatchSource;
import capi.engine.Backends;
import capi.engine.CapiTrainer;
import capi.engine.checkpoint.CheckpointStore;
import capi.eval.Evaluator;
import capi.eval.FeatureSource;
import capi.eval.Scores;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * One worker per device: owns a model replica (CapiTrainer), its data loader and its place in the
 * ring. Runs on a dedicated dispatcher because a step blocks its thread (compute and all-reduce).
 * Every message carries the coordinator's ring generation; messages of an older generation are
 * ignored, so a worker never mixes two rings.
 */
public final class Worker extends AbstractBehavior<Worker.Command> {

  public sealed interface Command {}

  /** Join (or re-join) the ring of a generation as {@code rank} of {@code worldSize}; {@code endpoints} one per rank. */
  public record JoinRing(int generation, int rank, int worldSize, List<Endpoint> endpoints,
      ActorRef<Coordinator.Command> replyTo) implements Command {}

  /** Load a checkpoint (null: fresh initialisation from the run seed) and prepare data from {@code nextStep}. */
  public record Load(int generation, String checkpointDir, long nextStep, ActorRef<Coordinator.Command> replyTo)
      implements Command {}

  /** Run step {@code step} (0-based) with the coordinator's schedule values. */
  public record RunStep(int generation, long step, double lr, double momentum, double clusteringLr,
      boolean withChecksum, ActorRef<Coordinator.Command> replyTo) implements Command {}

  /** Write this replica's tensors into a pending checkpoint directory. */
  public record SaveState(int generation, long stepsDone, String dir, ActorRef<Coordinator.Command> replyTo)
      implements Command {}

  /** Evaluate the teacher with frozen-feature probes (periodic evaluation; rank 0 only). */
  public record Evaluate(int generation, long stepsDone, ActorRef<Coordinator.Command> replyTo) implements Command {}

  /** The coordinator found this worker through the receptionist and asks who it is. */
  public record Identify(ActorRef<Coordinator.Command> replyTo) implements Command {}

  public record Stop() implements Command {}

  private record BatchArrived(DataLoader.Reply reply) implements Command {}

  /**
   * What a worker needs from its node: model, optimiser, engine (the backend of worker {@code index}
   * of the node), data, and the node's collective; {@code
   * joinedRing} is set once a worker of the node has joined a ring (the node takes part in training),
   * {@code stopRequested} once the node was asked to stop (SIGTERM): each step's report says so.
   */
  public record Setup(ModelConfig model, OptimConfig optim, EngineConfig engine, int index, long seed, int threads, BatchSource data,
      int loaderThreads, int prefetch, CollectiveNode collectiveNode, CollectiveConfig collective, Evaluator evaluator,
      AtomicBoolean joinedRing, AtomicBoolean stopRequested) {}

  /** Any direct buffer can be reduced: the ring's bound is only a sanity check. */
  private static final int MAX_REDUCE_FLOATS = Integer.MAX_VALUE / Float.BYTES;

  /** Workers register under this key; the coordinator (wherever it runs) finds them by it. */
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "capi-worker");

  public static Behavior<Command> create(Setup setup) {
    return Behaviors.setup(ctx -> new Worker(ctx, setup));
  }

  private final Setup setup;
  private StepExecutor executor;
  private AllReduce ring;
  private ActorRef<DataLoader.Command> loader;
  private int generation = -1;
  private int rank;
  private int worldSize;
  private RunStep pending;
  private long requestedAt;

  private Worker(ActorContext<Command> ctx, Setup setup) {
    super(ctx);
    this.setup = setup;
    ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Identify.class, this::onIdentify)
        .onMessage(JoinRing.class, this::onJoinRing)
        .onMessage(Load.class, this::onLoad)
        .onMessage(RunStep.class, this::onRunStep)
        .onMessage(BatchArrived.class, this::onBatch)
        .onMessage(SaveState.class, this::onSaveState)
        .onMessage(Evaluate.class, this::onEvaluate)
        .onMessage(Stop.class, m -> stop())
        .onSignal(org.apache.pekko.actor.typed.PostStop.class, s -> {
          release();
          return this;
        })
        .build();
  }

  private Behavior<Command> onIdentify(Identify m) {
    String sameHost = setup.collectiveNode() == null ? "" : setup.collectiveNode().token();
    m.replyTo().tell(new Coordinator.WorkerInfo(getContext().getSelf(), setup.collective().udpHost(), sameHost,
        getContext().getSystem().address().toString(), generation >= 0));
    return this;
  }

  private Behavior<Command> onJoinRing(JoinRing m) {
    generation = m.generation();
    rank = m.rank();
    worldSize = m.worldSize();
    pending = null;
    closeRing();
    try {
      if (worldSize > 1) {
        ring = setup.collectiveNode().join(generation, rank, m.endpoints(), MAX_REDUCE_FLOATS);
        getContext().getLog().info("rank {} of {} joined generation {} ({})", rank, worldSize, generation,
            ring.getClass().getSimpleName());
      }
      setup.joinedRing().set(true);
      m.replyTo().tell(new Coordinator.RingJoined(generation, rank));
    } catch (RuntimeException e) {
      getContext().getLog().error("rank {} could not join ring generation {}", rank, generation, e);
      m.replyTo().tell(failed(-1, Coordinator.Failure.WORKER_ERROR, "join ring: " + e.getMessage(), deadRank(e)));
    }
    return this;
  }

  private Behavior<Command> onLoad(Load m) {
    if (m.generation() != generation) return this;
    try {
      if (executor == null || m.checkpointDir() == null) {
        if (executor != null) executor.trainer().close();
        executor = new StepExecutor(
            CapiTrainer.create(setup.model(), setup.optim(), setup.seed(),
                Backends.create(setup.engine(), setup.index(), setup.threads())), setup.seed());
      }
      if (m.checkpointDir() != null) {
        new CheckpointStore.Checkpoint(m.nextStep(), Path.of(m.checkpointDir())).loadInto(executor.trainer());
      }
      executor.useRing(ring);
      if (loader != null) getContext().stop(loader);
      loader = getContext().spawn(
          DataLoader.create(setup.data(), rank, worldSize, m.nextStep(), setup.loaderThreads(), setup.prefetch()),
          "loader-g" + generation);
      m.replyTo().tell(new Coordinator.WorkerLoaded(generation, rank));
    } catch (Exception e) {
      getContext().getLog().error("rank {} could not load {}", rank, m.checkpointDir(), e);
      m.replyTo().tell(failed(-1, Coordinator.Failure.WORKER_ERROR, "load: " + e.getMessage(), -1));
    }
    return this;
  }

  private Behavior<Command> onRunStep(RunStep m) {
    if (m.generation() != generation) return this;
    pending = m;
    requestedAt = System.nanoTime();
    loader.tell(new DataLoader.Next(m.step(), getContext().messageAdapter(DataLoader.Reply.class, BatchArrived::new)));
    return this;
  }

  private Behavior<Command> onBatch(BatchArrived arrived) {
    RunStep m = pending;
    if (m == null) return this; // a batch for an aborted step
    pending = null;
    if (arrived.reply() instanceof DataLoader.Failed f) {
      m.replyTo().tell(failed(m.step(), f.badInput() ? Coordinator.Failure.BAD_INPUT : Coordinator.Failure.WORKER_ERROR,
          "data: " + f.message(), -1));
      return this;
    }
    DataLoader.Batch batch = (DataLoader.Batch) arrived.reply();
    if (batch.batch().step() != m.step()) {
      m.replyTo().tell(failed(m.step(), Coordinator.Failure.WORKER_ERROR,
          "data loader delivered step " + batch.batch().step(), -1));
      return this;
    }
    double dataWait = (System.nanoTime() - requestedAt) * 1e-9;
    try {
      StepExecutor.Outcome o = executor.run(
          m.step(), rank, batch.batch(), dataWait, batch.readyAhead(), m.lr(), m.momentum(), m.clusteringLr());
      long checksum = m.withChecksum() ? executor.trainer().teacherChecksum() : 0;
      m.replyTo().tell(new Coordinator.StepDone(generation, m.step(), rank, o.lossCapi(), o.lossClustering(),
          o.targetEntropy(), o.gradNorm(), o.timings(), checksum, setup.stopRequested().get()));
    } catch (RuntimeException e) {
      getContext().getLog().error("rank {} failed step {}", rank, m.step(), e);
      m.replyTo().tell(failed(m.step(), Coordinator.Failure.WORKER_ERROR, e.toString(), deadRank(e)));
    }
    return this;
  }

  private Behavior<Command> onSaveState(SaveState m) {
    if (m.generation() != generation) return this;
    try {
      CheckpointStore.writeModel(Path.of(m.dir()), executor.trainer(), m.stepsDone());
      m.replyTo().tell(new Coordinator.StateSaved(generation, m.stepsDone(), rank));
    } catch (CheckpointStore.NonFiniteException e) {
      getContext().getLog().error("rank {}: the replica is not finite; no checkpoint of step {}: {}", rank,
          m.stepsDone(), e.getMessage());
      m.replyTo().tell(failed(m.stepsDone(), Coordinator.Failure.NON_FINITE, "save: " + e.getMessage(), -1));
    } catch (Exception e) {
      getContext().getLog().error("rank {} could not save state", rank, e);
      m.replyTo().tell(failed(m.stepsDone(), Coordinator.Failure.WRITE, "save: " + e.getMessage(), -1));
    }
    return this;
  }

  private Behavior<Command> onEvaluate(Evaluate m) {
    if (m.generation() != generation) return this;
    List<String> probes = new ArrayList<>();
    List<String> features = new ArrayList<>();
    List<Double> top1 = new ArrayList<>();
    try {
      for (Map.Entry<FeatureSource, Scores> e : setup.evaluator().evaluate(executor.trainer()).entrySet()) {
        for (String probe : List.of("knn", "linear")) {
          double v = probe.equals("knn") ? e.getValue().knnTop1() : e.getValue().linearTop1();
          if (Double.isNaN(v)) continue;
          probes.add(probe);
          features.add(e.getKey().label());
          top1.add(v);
        }
      }
    } catch (RuntimeException e) {
      getContext().getLog().error("evaluation at step {} failed", m.stepsDone(), e);
    }
    m.replyTo().tell(new Coordinator.EvalDone(generation, m.stepsDone(), probes, features, top1));
    return this;
  }

  private Coordinator.WorkerFailed failed(long step, String kind, String reason, int deadRank) {
    return new Coordinator.WorkerFailed(generation, rank, step, kind, reason, deadRank);
  }

  /** The rank whose process the collective saw die, so the coordinator leaves its node out; else -1. */
  private static int deadRank(RuntimeException e) {
    return e instanceof CollectiveException c ? c.deadRank() : -1;
  }

  private Behavior<Command> stop() {
    return Behaviors.stopped();
  }

  private void closeRing() {
    if (ring != null) {
      ring.close();
      ring = null;
    }
  }

  private void release() {
    closeRing();
    if (executor != null) executor.trainer().close();
  }
}
