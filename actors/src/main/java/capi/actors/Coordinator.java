package capi.actors;

import capi.collective.Endpoint;
import capi.engine.checkpoint.CheckpointStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The control plane of a run (ARCHITECTURE.md): membership and ranks, the ring generation, the step
 * barrier and its timeout, the schedules, when to checkpoint, replica checksums and recovery. It
 * never carries gradient bytes; what a completed step logs is the {@link StepLog}'s, and the
 * checkpoints' disk work runs on {@link CheckpointIo}'s thread, its results coming back as messages.
 *
 * <p>Phases: waiting for workers → joining the ring → scanning the checkpoints → loading (checkpoint
 * or fresh) → stepping ⇄ saving → done. Any failure of the current generation (a worker's error, a
 * vanished worker, a step timeout, diverged replicas, a NaN or infinite loss, a checkpoint that
 * could not be written) starts a new generation: the ring is re-formed with the live workers and
 * everyone reloads the newest valid checkpoint, within the {@link RecoveryLimits}.
 */
public final class Coordinator extends AbstractBehavior<Coordinator.Command> {
  /** How long after a spurious WorkerGone a still-listed worker is asked again. */
  private static final Duration ASK_AGAIN_AFTER = Duration.ofSeconds(1);

  public sealed interface Command {}

  /**
   * A worker's answer to Identify: where its ring endpoint lives (host, and its collective node's
   * same-host token file, "" for none), which node it runs on, and whether it has been in a ring of
   * this run (then the run has started: a coordinator that moved goes on with the survivors).
   */
  public record WorkerInfo(ActorRef<Worker.Command> worker, String host, String sameHost, String node, boolean trained)
      implements Command {}

  private record WorkersListed(Receptionist.Listing listing) implements Command {}

  public record RingJoined(int generation, int rank) implements Command {}

  public record WorkerLoaded(int generation, int rank) implements Command {}

  /** A rank's step; {@code nodeStopping}: its node was asked to stop (SIGTERM), it leaves after a checkpoint. */
  public record StepDone(int generation, long step, int rank, double lossCapi, double lossClustering,
      double targetEntropy, double gradNorm, StepTimings timings, long teacherChecksum, boolean nodeStopping)
      implements Command {}

  /**
   * A rank's failure of {@code kind} (a {@link Failure} word); {@code deadRank} is a peer whose
   * process it saw die (-1 for none).
   */
  public record WorkerFailed(int generation, int rank, long step, String kind, String reason, int deadRank)
      implements Command {}

  /** Kinds of failure: the reason label of capi_recoveries_total, and what decides whether to recover. */
  public static final class Failure {
    private Failure() {}

    public static final String WORKER_ERROR = "worker-error";
    public static final String WORKER_LOST = "worker-lost";
    public static final String STEP_TIMEOUT = "step-timeout";
    public static final String REPLICA_DIVERGENCE = "replica-divergence";
    /** A NaN or infinite loss or gradient, or a replica that holds one at a checkpoint. */
    public static final String NON_FINITE = "non_finite";
    /** A checkpoint (or a line of metrics.jsonl) could not be written: a full disk, say. */
    public static final String WRITE = "checkpoint-write";
    /** The input cannot be read (a dataset with no readable image): no recovery, exit 2. */
    public static final String BAD_INPUT = "bad-input";
  }

  public record StateSaved(int generation, long stepsDone, int rank) implements Command {}

  /** Top-1 accuracies of a periodic evaluation: probes[i] on features[i] scored top1[i]. */
  public record EvalDone(int generation, long stepsDone, List<String> probes, List<String> features,
      List<Double> top1) implements Command {}

  private record WorkerGone(ActorRef<Worker.Command> worker) implements Command {}

  /** Ask a listed worker again whose watch said it was gone before it answered (onWorkerGone). */
  private record AskAgain(ActorRef<Worker.Command> worker) implements Command {}

  private record StepTimeout(int generation, long step) implements Command {}

  /** CheckpointIo's answers: the checkpoints scanned, a pending checkpoint created, one committed. */
  private record Scanned(int generation, CheckpointIo.Found found, Throwable error) implements Command {}

  private record CheckpointBegun(int generation, long step, CheckpointStore.Pending pending, Throwable error)
      implements Command {}

  private record CheckpointCommitted(int generation, long step, Path dir, Throwable error) implements Command {}

  private enum Phase { WAITING, JOINING, SCANNING, LOADING, STEPPING, EVALUATING, SAVING, DONE }

  /** {@code cluster}: the run spans a Pekko cluster (`capi node`), whose reachability it heeds. */
  public static Behavior<Command> create(RunSpec spec, boolean cluster) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Coordinator(ctx, timers, spec, cluster)));
  }

  private final RunSpec spec;
  private final boolean cluster;
  private final TimerScheduler<Command> timers;
  private final List<Member> members = new ArrayList<>();
  private List<Member> ring = List.of();
  private Phase phase = Phase.WAITING;
  private int generation;
  private int awaiting;
  private long stepsDone;
  private long stepStartedNanos;
  private final Map<Integer, StepDone> arrivals = new HashMap<>();
  private final Map<Integer, Long> arrivalNanos = new HashMap<>();
  private final CheckpointIo checkpointIo;
  private CheckpointStore.Pending pendingCheckpoint;
  private long checkpointStartedNanos;
  private boolean finishAfterSave;
  private String stopped; // why the run ends early after this checkpoint (RunResult.SIGNAL ...), or null
  private final RecoveryLimits recoveries = new RecoveryLimits();
  /** Workers asked to Identify that have not answered (nor gone). */
  private final Set<ActorRef<Worker.Command>> asked = new HashSet<>();
  /** The receptionist's latest list of workers. */
  private Set<ActorRef<Worker.Command>> listed = Set.of();
  /** The run has trained in this cluster (a worker says so): min-nodes-to-continue, not min-nodes, applies. */
  private boolean continuing;
  private final long startedNanos = System.nanoTime();

  /** Sorted with this node's workers first, so rank 0 (which writes checkpoints) is local. */
  private record Member(ActorRef<Worker.Command> ref, String host, String sameHost, String node) {}

  private Coordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, RunSpec spec, boolean cluster) {
    super(ctx);
    this.timers = timers;
    this.spec = spec;
    this.cluster = cluster;
    // Generations of a restarted (or moved) coordinator must not repeat those of its predecessor:
    // workers and the ring's wire format tell rings apart by this number alone.
    this.generation = (int) (System.currentTimeMillis() & 0x3fffffff);
    this.checkpointIo = new CheckpointIo(spec.checkpoints());
    ctx.getSystem().receptionist().tell(Receptionist.subscribe(Worker.KEY,
        ctx.messageAdapter(Receptionist.Listing.class, WorkersListed::new)));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(WorkersListed.class, this::onListing)
        .onMessage(WorkerInfo.class, this::onWorkerInfo)
        .onMessage(RingJoined.class, m -> onReady(m.generation(), Phase.JOINING, this::scan))
        .onMessage(Scanned.class, this::onScanned)
        .onMessage(WorkerLoaded.class, m -> onReady(m.generation(), Phase.LOADING, this::startStep))
        .onMessage(StepDone.class, this::onStepDone)
        .onMessage(CheckpointBegun.class, this::onCheckpointBegun)
        .onMessage(StateSaved.class, this::onStateSaved)
        .onMessage(CheckpointCommitted.class, this::onCheckpointCommitted)
        .onMessage(EvalDone.class, this::onEvalDone)
        .onMessage(WorkerFailed.class, this::onWorkerFailed)
        .onMessage(WorkerGone.class, this::onWorkerGone)
        .onMessage(AskAgain.class, this::onAskAgain)
        .onMessage(StepTimeout.class, this::onStepTimeout)
        .onSignal(PreRestart.class, s -> stopIo())
        .onSignal(PostStop.class, s -> stopIo())
        .build();
  }

  // ---- membership and ring ---------------------------------------------------------------------

  /** Workers appear through the receptionist (also after this coordinator moved to another node). */
  private Behavior<Command> onListing(WorkersListed m) {
    listed = m.listing().getServiceInstances(Worker.KEY);
    asked.retainAll(listed);
    for (ActorRef<Worker.Command> w : listed) ask(w);
    startIfEnough();
    return this;
  }

  private Behavior<Command> onAskAgain(AskAgain m) {
    ask(m.worker());
    return this;
  }

  /** Asks a listed worker that is not a member who it is (once at a time), watching it. */
  private void ask(ActorRef<Worker.Command> w) {
    if (listed.contains(w) && members.stream().noneMatch(x -> x.ref().equals(w)) && asked.add(w)) {
      getContext().watchWith(w, new WorkerGone(w));
      w.tell(new Worker.Identify(getContext().getSelf()));
    }
  }

  private Behavior<Command> onWorkerInfo(WorkerInfo m) {
    if (!asked.remove(m.worker())) return this;
    members.add(new Member(m.worker(), m.host(), m.sameHost(), m.node()));
    members.sort(Comparator.comparing((Member x) -> !x.node().equals(localNode())).thenComparing(Member::node)
        .thenComparing(x -> x.ref().path().name()));
    continuing |= m.trained();
    getContext().getLog().info("worker {} joined ({} workers on {} nodes; waiting for {})", m.worker().path(),
        members.size(), nodes(members), continuing ? "the workers listed, on " + spec.minNodesToContinue() + " nodes, to continue"
            : spec.expectedWorkers() + " workers on " + spec.minNodes() + " nodes");
    startIfEnough();
    return this;
  }

  /**
   * Forms the first ring of this coordinator once there are workers enough: to start a run, all the
   * expected ones on min-nodes nodes; to continue one (this coordinator moved or was restarted), every
   * worker listed on at least min-nodes-to-continue nodes.
   */
  private void startIfEnough() {
    if (phase != Phase.WAITING) return;
    boolean enough = continuing ? asked.isEmpty() && nodes(live()) >= spec.minNodesToContinue()
        : live().size() >= spec.expectedWorkers() && nodes(members) >= spec.minNodes();
    if (enough) formRing();
  }

  private static long nodes(List<Member> workers) {
    return workers.stream().map(Member::node).distinct().count();
  }

  private String localNode() {
    return getContext().getSystem().address().toString();
  }

  /**
   * Workers that may join a ring: those on nodes the cluster can reach. A worker on an unreachable
   * node stays a member until its node is downed (then it is gone) or reachable again.
   */
  private List<Member> live() {
    if (!cluster) return members;
    Set<String> unreachable = Cluster.get(getContext().getSystem()).state().getUnreachable().stream()
        .map(n -> n.address().toString()).collect(Collectors.toSet());
    return members.stream().filter(m -> !unreachable.contains(m.node())).toList();
  }

  /** A new generation: the largest set of live workers that divides the global batch. */
  private void formRing() {
    generation++;
    timers.cancelAll();
    List<Member> live = live();
    if (live.size() < members.size()) {
      getContext().getLog().warn("leaving out {} workers on unreachable nodes", members.size() - live.size());
    }
    int world = largestWorld(live);
    ring = List.copyOf(live.subList(0, world));
    List<Endpoint> endpoints = new ArrayList<>(); // an ArrayList: Kryo reads it (KryoSerializer)
    for (int r = 0; r < world; r++) endpoints.add(spec.endpoint(ring.get(r).host(), ring.get(r).sameHost(), r));
    getContext().getLog().info("ring generation {}: {} workers", generation, world);
    spec.metrics().runStarted(spec.totalSteps(), world);
    expect(Phase.JOINING);
    for (int r = 0; r < world; r++) {
      ring.get(r).ref().tell(new Worker.JoinRing(generation, r, world, endpoints, getContext().getSelf()));
    }
  }

  private void expect(Phase next) {
    phase = next;
    awaiting = ring.size();
  }

  private Behavior<Command> onReady(int gen, Phase in, Runnable then) {
    if (gen == generation && phase == in && --awaiting == 0) then.run();
    return this;
  }

  // ---- loading ---------------------------------------------------------------------------------

  private void scan() {
    phase = Phase.SCANNING;
    int gen = generation;
    getContext().pipeToSelf(checkpointIo.find(), (found, error) -> new Scanned(gen, found, error));
  }

  /**
   * Everyone loads the newest valid checkpoint, or initialises afresh when the run has none. A run
   * whose checkpoints are all damaged does not start again at step 0 by itself: it fails, and leaves
   * everything as it is (`capi resume --from-scratch` is the explicit choice).
   */
  private Behavior<Command> onScanned(Scanned m) {
    if (m.generation() != generation || phase != Phase.SCANNING) return this;
    if (m.error() != null) {
      fail("cannot read the checkpoints in " + spec.checkpoints().dir() + ": " + cause(m.error()).getMessage());
      return this;
    }
    CheckpointStore.Scan scan = m.found().scan();
    if (scan.newest().isEmpty() && !scan.damaged().isEmpty()) {
      fail(spec.checkpoints().dir() + " holds " + scan.describe() + "; refusing to start again at step 0 "
          + "(restore a checkpoint, or `capi resume RUN_DIR --from-scratch`)");
      return this;
    }
    stepsDone = scan.newest().map(CheckpointStore.Checkpoint::step).orElse(0L);
    try {
      spec.stepLog().open(stepsDone, m.found().state() == null ? Double.NaN : m.found().state().lossCapi());
    } catch (IOException e) {
      fail("cannot open metrics.jsonl: " + e.getMessage());
      return this;
    }
    String dir = scan.newest().map(c -> c.dir().toString()).orElse(null);
    getContext().getLog().info("generation {} starts at step {} from {}", generation, stepsDone,
        dir == null ? "a fresh initialisation" : dir);
    expect(Phase.LOADING);
    for (Member x : ring) x.ref().tell(new Worker.Load(generation, dir, stepsDone, getContext().getSelf()));
    return this;
  }

  // ---- stepping --------------------------------------------------------------------------------

  private void startStep() {
    if (stepsDone >= spec.totalSteps()) {
      finish();
      return;
    }
    long step = stepsDone;
    arrivals.clear();
    arrivalNanos.clear();
    expect(Phase.STEPPING);
    stepStartedNanos = System.nanoTime();
    boolean checksum = (step + 1) % spec.train().checksumEvery() == 0 && ring.size() > 1;
    RunSpec.Schedules s = spec.schedules();
    for (Member m : ring) {
      m.ref().tell(new Worker.RunStep(generation, step, s.lr(step), s.momentum(step), s.clusteringLr(step),
          checksum, getContext().getSelf()));
    }
    timers.startSingleTimer("step", new StepTimeout(generation, step), spec.train().stepTimeout());
  }

  private Behavior<Command> onStepDone(StepDone m) {
    if (m.generation() != generation || phase != Phase.STEPPING || m.step() != stepsDone) return this;
    arrivals.put(m.rank(), m);
    arrivalNanos.put(m.rank(), System.nanoTime());
    if (arrivals.size() < ring.size()) return this;
    timers.cancel("step");
    double seconds = (System.nanoTime() - stepStartedNanos) * 1e-9;
    String nonFinite = nonFinite();
    if (nonFinite != null) {
      recover(Failure.NON_FINITE, "step " + (m.step() + 1) + ": " + nonFinite + "; the step is rejected");
      return this;
    }
    if (!replicasAgree()) {
      recover(Failure.REPLICA_DIVERGENCE, "teacher checksums differ after step " + (m.step() + 1));
      return this;
    }
    try {
      spec.stepLog().record(m.step(), arrivals, arrivalNanos, seconds, spec.schedules());
    } catch (IOException e) {
      recover(Failure.WRITE, "cannot append step " + (m.step() + 1) + " to metrics.jsonl: " + e.getMessage());
      return this;
    }
    stepsDone = m.step() + 1;
    recoveries.stepCompleted();
    if (spec.evalEvery() > 0 && stepsDone % spec.evalEvery() == 0) {
      phase = Phase.EVALUATING;
      ring.get(0).ref().tell(new Worker.Evaluate(generation, stepsDone, getContext().getSelf()));
    } else {
      afterStep();
    }
    return this;
  }

  private Behavior<Command> onEvalDone(EvalDone m) {
    if (m.generation() != generation || phase != Phase.EVALUATING || m.stepsDone() != stepsDone) return this;
    StringBuilder line = new StringBuilder();
    for (int i = 0; i < m.top1().size(); i++) {
      spec.metrics().evalTop1(m.probes().get(i), m.features().get(i), m.top1().get(i));
      line.append(String.format(Locale.ROOT, " %s/%s=%.4f", m.probes().get(i), m.features().get(i), m.top1().get(i)));
    }
    getContext().getLog().info("evaluation at step {}:{}", stepsDone, line);
    afterStep();
    return this;
  }

  /** After a completed (and maybe evaluated) step: checkpoint, finish, or the next step. */
  private void afterStep() {
    boolean outOfTime = spec.train().maxMinutes() > 0
        && (System.nanoTime() - startedNanos) * 1e-9 / 60 >= spec.train().maxMinutes();
    boolean end = stepsDone >= spec.totalSteps();
    String stopNow = end ? null
        : spec.stopRequested().get() ? RunResult.SIGNAL : outOfTime ? RunResult.MAX_MINUTES : null;
    if (end || stopNow != null || !leavingNodes().isEmpty() || stepsDone % spec.checkpoint().every() == 0) {
      saveCheckpoint(end || stopNow != null, stopNow);
    } else {
      startStep();
    }
  }

  /** What is not finite in this step's reports (losses, gradient norm), or null: all are. */
  private String nonFinite() {
    for (StepDone d : arrivals.values()) {
      double[] values = {d.lossCapi(), d.lossClustering(), d.targetEntropy(), d.gradNorm()};
      String[] names = {"loss_capi", "loss_clustering", "target_entropy", "grad_norm"};
      for (int i = 0; i < values.length; i++) {
        if (!Double.isFinite(values[i])) return names[i] + " = " + values[i] + " on rank " + d.rank();
      }
    }
    return null;
  }

  /**
   * Other nodes whose ranks said in this step's reports that their node was asked to stop (SIGTERM):
   * they leave after the checkpoint of this step. This node's own stop request ends the whole run.
   */
  private Set<String> leavingNodes() {
    return arrivals.values().stream().filter(StepDone::nodeStopping).map(d -> ring.get(d.rank()).node())
        .filter(node -> !node.equals(localNode())).collect(Collectors.toSet());
  }

  private boolean replicasAgree() {
    long first = arrivals.get(0).teacherChecksum();
    for (StepDone d : arrivals.values()) if (d.teacherChecksum() != first) return false;
    return true;
  }

  // ---- checkpoints -----------------------------------------------------------------------------

  /** Creates a pending checkpoint (CheckpointIo), then rank 0 writes its replica into it. */
  private void saveCheckpoint(boolean thenFinish, String stopReason) {
    finishAfterSave = thenFinish;
    stopped = stopReason;
    checkpointStartedNanos = System.nanoTime();
    phase = Phase.SAVING;
    int gen = generation;
    long step = stepsDone;
    getContext().pipeToSelf(checkpointIo.begin(step), (p, error) -> new CheckpointBegun(gen, step, p, error));
  }

  private Behavior<Command> onCheckpointBegun(CheckpointBegun m) {
    if (m.generation() != generation || phase != Phase.SAVING || m.step() != stepsDone) {
      if (m.pending() != null) checkpointIo.discard(m.pending(), getContext().getLog()::warn); // a recovery came first
      return this;
    }
    if (m.error() != null) {
      recover(Failure.WRITE, "cannot create checkpoint " + m.step() + ": " + cause(m.error()).getMessage());
      return this;
    }
    pendingCheckpoint = m.pending();
    ring.get(0).ref().tell(new Worker.SaveState(generation, stepsDone, pendingCheckpoint.dir().toString(),
        getContext().getSelf()));
    return this;
  }

  /** Rank 0 wrote the tensors: state.json, config.conf, manifest, commit (CheckpointIo). */
  private Behavior<Command> onStateSaved(StateSaved m) {
    if (m.generation() != generation || phase != Phase.SAVING || m.stepsDone() != stepsDone) return this;
    CheckpointStore.State state = new CheckpointStore.State(stepsDone, ring.size(), generation, spec.train().seed(),
        spec.train().batchSize(), spec.stepLog().lastLossCapi());
    int gen = generation;
    long step = stepsDone;
    getContext().pipeToSelf(checkpointIo.commit(pendingCheckpoint, state, spec.runDir().dir().resolve(RunDirectory.CONFIG)),
        (dir, error) -> new CheckpointCommitted(gen, step, dir, error));
    return this;
  }

  private Behavior<Command> onCheckpointCommitted(CheckpointCommitted m) {
    if (m.generation() != generation || phase != Phase.SAVING || m.step() != stepsDone) return this;
    if (m.error() != null) {
      recover(Failure.WRITE, "cannot write checkpoint " + m.step() + ": " + cause(m.error()).getMessage());
      return this;
    }
    pendingCheckpoint = null;
    spec.metrics().checkpointWritten((System.nanoTime() - checkpointStartedNanos) * 1e-9);
    getContext().getLog().info("checkpoint at step {} written", stepsDone);
    if (finishAfterSave) {
      finish();
    } else if (!leavingNodes().isEmpty()) {
      dismiss(leavingNodes());
    } else if (largestWorld(live()) > ring.size()) {
      getContext().getLog().info("{} workers are waiting to join: re-forming the ring", live().size() - ring.size());
      formRing(); // everyone loads the checkpoint just written
    } else {
      startStep();
    }
    return this;
  }

  /**
   * Stops the workers of nodes that were asked to stop, now that their work is in a checkpoint (they
   * then end, exit 0), and goes on without them.
   */
  private void dismiss(Set<String> nodes) {
    List<Member> leaving = members.stream().filter(x -> nodes.contains(x.node())).toList();
    for (Member x : leaving) {
      getContext().unwatch(x.ref());
      x.ref().tell(new Worker.Stop());
    }
    members.removeAll(leaving);
    getContext().getLog().info("nodes {} were asked to stop: their {} workers leave after checkpoint {}", nodes,
        leaving.size(), stepsDone);
    formRingOrWait();
  }

  /** The most live workers that evenly divide the global batch. */
  private int largestWorld(List<Member> live) {
    int world = live.size();
    while (world > 1 && spec.train().batchSize() % world != 0) world--;
    return world;
  }

  // ---- failures and recovery -------------------------------------------------------------------

  private Behavior<Command> onWorkerFailed(WorkerFailed m) {
    if (m.generation() == generation && phase != Phase.DONE && phase != Phase.WAITING) {
      if (m.deadRank() >= 0 && m.deadRank() < ring.size()) leaveOut(ring.get(m.deadRank()).node());
      String detail = "rank " + m.rank() + (phase == Phase.SAVING ? " could not save checkpoint " + stepsDone
          : " failed at step " + (m.step() + 1)) + ": " + m.reason();
      if (m.kind().equals(Failure.BAD_INPUT)) {
        fail(detail, true);
      } else {
        recover(m.kind(), detail);
      }
    }
    return this;
  }

  /**
   * Drops the workers of a node whose process died. The cluster would learn it only after the
   * failure detector's pause and the downing's stable-after (seconds); re-forming the ring with
   * them before that would fail again at the join.
   */
  private void leaveOut(String node) {
    if (node.equals(localNode())) return; // this process is alive: the report is about a worker's peer
    List<Member> dead = members.stream().filter(x -> x.node().equals(node)).toList();
    for (Member x : dead) getContext().unwatch(x.ref());
    members.removeAll(dead);
    getContext().getLog().warn("the process of node {} died: leaving out its {} workers", node, dead.size());
  }

  private Behavior<Command> onWorkerGone(WorkerGone m) {
    boolean inRing = ring.stream().anyMatch(r -> r.ref().equals(m.worker()));
    members.removeIf(r -> r.ref().equals(m.worker()));
    if (asked.remove(m.worker()) && listed.contains(m.worker())) {
      // A node restarted at its predecessor's address: watching its new worker can report it gone
      // (the predecessor's removal) although it lives. While the receptionist lists it, ask again.
      getContext().scheduleOnce(ASK_AGAIN_AFTER, getContext().getSelf(), new AskAgain(m.worker()));
    }
    if (inRing && phase != Phase.DONE && phase != Phase.WAITING) {
      recover(Failure.WORKER_LOST, "worker " + m.worker().path() + " is gone");
    } else {
      startIfEnough();
    }
    return this;
  }

  private Behavior<Command> onStepTimeout(StepTimeout m) {
    if (m.generation() == generation && phase == Phase.STEPPING && m.step() == stepsDone) {
      recover(Failure.STEP_TIMEOUT, "step " + (m.step() + 1) + " did not complete within " + spec.train().stepTimeout());
    }
    return this;
  }

  /** A failure of {@code kind} (a {@link Failure} word) in the current generation. */
  private void recover(String kind, String detail) {
    getContext().getLog().warn("recovering ({}): {}", kind, detail);
    spec.metrics().recovery(kind);
    if (pendingCheckpoint != null) {
      checkpointIo.discard(pendingCheckpoint, getContext().getLog()::warn);
      pendingCheckpoint = null;
    }
    // The step a failure belongs to: the one in flight, or the checkpoint's (the steps done).
    String giveUp = recoveries.failed(kind, phase == Phase.STEPPING ? stepsDone + 1 : stepsDone, detail);
    if (giveUp != null) {
      fail(giveUp + " (checkpoints are intact: " + spec.checkpoints().dir() + ")");
      return;
    }
    if (live().isEmpty()) {
      fail("no reachable worker left: " + detail);
      return;
    }
    formRingOrWait();
  }

  /** A new ring of the live workers, or, with fewer than min-nodes-to-continue nodes, waiting for nodes. */
  private void formRingOrWait() {
    if (nodes(live()) < spec.minNodesToContinue()) {
      timers.cancelAll();
      phase = Phase.WAITING;
      continuing = true;
      getContext().getLog().warn("{} nodes left, fewer than capi.cluster.min-nodes-to-continue = {}: waiting for nodes",
          nodes(live()), spec.minNodesToContinue());
      return;
    }
    formRing();
  }

  // ---- the end ---------------------------------------------------------------------------------

  private void finish() {
    phase = Phase.DONE;
    timers.cancelAll();
    spec.result().complete(RunResult.finished(stepsDone, spec.runDir().dir().toString(), spec.stepLog().lastLossCapi(),
        spec.stepLog().imgPerSecond(), stopped));
    stopWorkers();
  }

  private void stopWorkers() {
    for (Member m : members) m.ref().tell(new Worker.Stop());
  }

  private void fail(String why) {
    fail(why, false);
  }

  /** @param badInput the input is at fault (exit 2), not the system */
  private void fail(String why, boolean badInput) {
    phase = Phase.DONE;
    timers.cancelAll();
    getContext().getLog().error("run failed: {}", why);
    spec.result().complete(RunResult.failed(why, badInput));
    stopWorkers();
  }

  private Behavior<Command> stopIo() {
    checkpointIo.close();
    return this;
  }

  private static Throwable cause(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

}
