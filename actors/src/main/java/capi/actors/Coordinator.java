package capi.actors;

import capi.collective.Endpoint;
import capi.engine.checkpoint.CheckpointStore;
import capi.monitoring.StepReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The control plane of a run (ARCHITECTURE.md): membership and ranks, the ring generation, the step
 * barrier and its timeout, the schedules, metrics.jsonl, checkpoint commits, replica checksums and
 * recovery. It never carries gradient bytes.
 *
 * <p>Phases: waiting for workers → joining the ring → loading (checkpoint or fresh) → stepping ⇄
 * saving → done. Any failure of the current generation (a worker's error, a vanished worker, a step
 * timeout, diverged replicas) starts a new generation: the ring is re-formed with the live workers
 * and everyone reloads the newest valid checkpoint.
 */
public final class Coordinator extends AbstractBehavior<Coordinator.Command> {

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

  public record StepDone(int generation, long step, int rank, double lossCapi, double lossClustering,
      double targetEntropy, double gradNorm, StepTimings timings, long teacherChecksum) implements Command {}

  /** A rank's failure; {@code deadRank} is a peer whose process it saw die (-1 for none). */
  public record WorkerFailed(int generation, int rank, long step, String reason, int deadRank) implements Command {}

  public record StateSaved(int generation, long stepsDone, int rank) implements Command {}

  /** Top-1 accuracies of a periodic evaluation: probes[i] on features[i] scored top1[i]. */
  public record EvalDone(int generation, long stepsDone, List<String> probes, List<String> features,
      List<Double> top1) implements Command {}

  private record WorkerGone(ActorRef<Worker.Command> worker) implements Command {}

  private record StepTimeout(int generation, long step) implements Command {}

  private enum Phase { WAITING, JOINING, LOADING, STEPPING, EVALUATING, SAVING, DONE }

  /** Consecutive recoveries without a completed step before the run gives up. */
  private static final int MAX_FAILED_RECOVERIES = 3;

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
  private CheckpointStore.Pending pendingCheckpoint;
  private long checkpointStartedNanos;
  private boolean finishAfterSave;
  private int failedRecoveries;
  /** Workers asked to Identify that have not answered (nor gone). */
  private final Set<ActorRef<Worker.Command>> asked = new HashSet<>();
  /** The run has trained in this cluster (a worker says so): min-nodes-to-continue, not min-nodes, applies. */
  private boolean continuing;
  private double lastLossCapi = Double.NaN;
  private double steppingSeconds;
  private long steppedImages;
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
    ctx.getSystem().receptionist().tell(Receptionist.subscribe(Worker.KEY,
        ctx.messageAdapter(Receptionist.Listing.class, WorkersListed::new)));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(WorkersListed.class, this::onListing)
        .onMessage(WorkerInfo.class, this::onWorkerInfo)
        .onMessage(RingJoined.class, m -> onReady(m.generation(), Phase.JOINING, this::load))
        .onMessage(WorkerLoaded.class, m -> onReady(m.generation(), Phase.LOADING, this::startStep))
        .onMessage(StepDone.class, this::onStepDone)
        .onMessage(StateSaved.class, this::onStateSaved)
        .onMessage(EvalDone.class, this::onEvalDone)
        .onMessage(WorkerFailed.class, this::onWorkerFailed)
        .onMessage(WorkerGone.class, this::onWorkerGone)
        .onMessage(StepTimeout.class, this::onStepTimeout)
        .build();
  }

  // ---- membership and ring ---------------------------------------------------------------------

  /** Workers appear through the receptionist (also after this coordinator moved to another node). */
  private Behavior<Command> onListing(WorkersListed m) {
    Set<ActorRef<Worker.Command>> listed = m.listing().getServiceInstances(Worker.KEY);
    asked.retainAll(listed);
    for (ActorRef<Worker.Command> w : listed) {
      if (members.stream().noneMatch(x -> x.ref().equals(w)) && asked.add(w)) {
        getContext().watchWith(w, new WorkerGone(w));
        w.tell(new Worker.Identify(getContext().getSelf()));
      }
    }
    startIfEnough();
    return this;
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

  private void load() {
    Optional<CheckpointStore.Checkpoint> latest;
    try {
      latest = spec.checkpoints().latestValid();
    } catch (IOException e) {
      fail("cannot read checkpoints: " + e.getMessage());
      return;
    }
    stepsDone = latest.map(CheckpointStore.Checkpoint::step).orElse(0L);
    try {
      spec.runDir().openMetrics(stepsDone);
    } catch (IOException e) {
      fail("cannot open metrics.jsonl: " + e.getMessage());
      return;
    }
    String dir = latest.map(c -> c.dir().toString()).orElse(null);
    getContext().getLog().info("generation {} starts at step {} from {}", generation, stepsDone,
        dir == null ? "a fresh initialisation" : dir);
    expect(Phase.LOADING);
    for (Member m : ring) m.ref().tell(new Worker.Load(generation, dir, stepsDone, getContext().getSelf()));
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
    if (!replicasAgree()) {
      recover("replica-divergence", "teacher checksums differ after step " + (m.step() + 1));
      return this;
    }
    record(m.step(), seconds);
    stepsDone = m.step() + 1;
    failedRecoveries = 0;
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
    boolean last = stepsDone >= spec.totalSteps() || outOfTime || spec.stopRequested().get();
    if (last || stepsDone % spec.checkpoint().every() == 0) {
      saveCheckpoint(last);
    } else {
      startStep();
    }
  }

  private boolean replicasAgree() {
    long first = arrivals.get(0).teacherChecksum();
    for (StepDone d : arrivals.values()) if (d.teacherChecksum() != first) return false;
    return true;
  }

  /** metrics.jsonl, Prometheus and the console for one completed step. */
  private void record(long step, double seconds) {
    int world = ring.size();
    double lossCapi = 0, lossClust = 0, entropy = 0, gradNorm = 0;
    double dataWait = 0, teacher = 0, sinkhorn = 0, student = 0, allReduce = 0, optimizer = 0;
    long bytes = 0;
    for (StepDone d : arrivals.values()) {
      lossCapi += d.lossCapi() / world;
      lossClust += d.lossClustering() / world;
      entropy += d.targetEntropy() / world;
      gradNorm = Math.max(gradNorm, d.gradNorm());
      StepTimings t = d.timings();
      dataWait += t.dataWait() / world;
      teacher += t.teacherForward() / world;
      sinkhorn += t.sinkhorn() / world;
      student += t.student() / world;
      allReduce += t.allReduce() / world;
      optimizer += t.optimizer() / world;
      bytes = Math.max(bytes, t.allReduceBytes());
      spec.metrics().prefetchDepth(d.rank(), t.prefetchDepth());
    }
    long first = arrivalNanos.values().stream().mapToLong(Long::longValue).min().orElse(0);
    for (Map.Entry<Integer, Long> e : arrivalNanos.entrySet()) {
      spec.metrics().rankLag(e.getKey(), (e.getValue() - first) * 1e-9);
    }
    int batch = spec.train().batchSize();
    double imgPerSec = batch / seconds;
    RunSpec.Schedules s = spec.schedules();
    long stepNumber = step + 1;
    spec.runDir().appendMetrics(String.format(Locale.ROOT,
        "{\"step\":%d,\"loss_capi\":%s,\"loss_clustering\":%s,\"target_entropy\":%s,\"lr\":%s,"
            + "\"momentum\":%s,\"clustering_lr\":%s,\"grad_norm\":%s,\"world_size\":%d,\"step_seconds\":%.6f,"
            + "\"img_per_s\":%.3f,\"data_wait_seconds\":%.6f,\"allreduce_seconds\":%.6f}",
        stepNumber, JsonNumbers.of(lossCapi), JsonNumbers.of(lossClust), JsonNumbers.of(entropy),
        JsonNumbers.of(s.lr(step)), JsonNumbers.of(s.momentum(step)), JsonNumbers.of(s.clusteringLr(step)),
        JsonNumbers.of(gradNorm), world, seconds, imgPerSec, dataWait, allReduce));
    spec.metrics().stepCompleted(new StepReport(stepNumber, batch, lossCapi, lossClust, entropy, s.lr(step),
        s.momentum(step), s.clusteringLr(step), gradNorm, seconds, dataWait, teacher, sinkhorn, student, allReduce,
        optimizer, bytes, world, spec.epochOf(step)));
    spec.progress().update(stepNumber, lossCapi, imgPerSec);
    lastLossCapi = lossCapi;
    steppingSeconds += seconds;
    steppedImages += batch;
  }

  // ---- checkpoints -----------------------------------------------------------------------------

  private void saveCheckpoint(boolean thenFinish) {
    finishAfterSave = thenFinish;
    try {
      pendingCheckpoint = spec.checkpoints().begin(stepsDone);
    } catch (IOException e) {
      fail("cannot create a checkpoint directory: " + e.getMessage());
      return;
    }
    checkpointStartedNanos = System.nanoTime();
    phase = Phase.SAVING;
    awaiting = 1;
    ring.get(0).ref().tell(new Worker.SaveState(generation, stepsDone, pendingCheckpoint.dir().toString(),
        getContext().getSelf()));
  }

  private Behavior<Command> onStateSaved(StateSaved m) {
    if (m.generation() != generation || phase != Phase.SAVING || m.stepsDone() != stepsDone) return this;
    try (CheckpointStore.Pending p = pendingCheckpoint) {
      Files.writeString(p.dir().resolve("state.json"), stateJson(), StandardCharsets.UTF_8);
      Files.copy(spec.runDir().dir().resolve(RunDirectory.CONFIG), p.dir().resolve(RunDirectory.CONFIG));
      p.commit();
    } catch (IOException e) {
      fail("cannot write checkpoint " + stepsDone + ": " + e.getMessage());
      return this;
    }
    pendingCheckpoint = null;
    spec.metrics().checkpointWritten((System.nanoTime() - checkpointStartedNanos) * 1e-9);
    getContext().getLog().info("checkpoint at step {} written", stepsDone);
    if (finishAfterSave) {
      finish();
    } else if (largestWorld(live()) > ring.size()) {
      getContext().getLog().info("{} workers are waiting to join: re-forming the ring", live().size() - ring.size());
      formRing(); // everyone loads the checkpoint just written
    } else {
      startStep();
    }
    return this;
  }

  /** The most live workers that evenly divide the global batch. */
  private int largestWorld(List<Member> live) {
    int world = live.size();
    while (world > 1 && spec.train().batchSize() % world != 0) world--;
    return world;
  }

  private String stateJson() {
    return String.format(Locale.ROOT,
        "{\"step\":%d,\"world_size\":%d,\"generation\":%d,\"seed\":%d,\"batch_size\":%d,\"loss_capi\":%s}%n",
        stepsDone, ring.size(), generation, spec.train().seed(), spec.train().batchSize(),
        JsonNumbers.of(lastLossCapi));
  }

  // ---- failures and recovery -------------------------------------------------------------------

  private Behavior<Command> onWorkerFailed(WorkerFailed m) {
    if (m.generation() == generation && phase != Phase.DONE && phase != Phase.WAITING) {
      if (m.deadRank() >= 0 && m.deadRank() < ring.size()) leaveOut(ring.get(m.deadRank()).node());
      recover("worker-error", "rank " + m.rank() + " failed at step " + (m.step() + 1) + ": " + m.reason());
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
    asked.remove(m.worker());
    if (inRing && phase != Phase.DONE && phase != Phase.WAITING) {
      recover("worker-lost", "worker " + m.worker().path() + " is gone");
    } else {
      startIfEnough();
    }
    return this;
  }

  private Behavior<Command> onStepTimeout(StepTimeout m) {
    if (m.generation() == generation && phase == Phase.STEPPING && m.step() == stepsDone) {
      recover("step-timeout", "step " + (m.step() + 1) + " did not complete within " + spec.train().stepTimeout());
    }
    return this;
  }

  private void recover(String reason, String detail) {
    getContext().getLog().warn("recovering ({}): {}", reason, detail);
    spec.metrics().recovery(reason);
    if (pendingCheckpoint != null) {
      try {
        pendingCheckpoint.close();
      } catch (IOException e) {
        getContext().getLog().warn("could not discard a partial checkpoint: {}", e.getMessage());
      }
      pendingCheckpoint = null;
    }
    if (++failedRecoveries > MAX_FAILED_RECOVERIES) {
      fail("giving up after " + MAX_FAILED_RECOVERIES + " recoveries without progress; last: " + detail);
      return;
    }
    if (live().isEmpty()) {
      fail("no reachable worker left: " + detail);
      return;
    }
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
    double imgPerSec = steppingSeconds > 0 ? steppedImages / steppingSeconds : 0;
    spec.result().complete(new RunResult(stepsDone, spec.runDir().dir().toString(), lastLossCapi, imgPerSec, null));
    stopWorkers();
  }

  private void stopWorkers() {
    for (Member m : members) m.ref().tell(new Worker.Stop());
  }

  private void fail(String why) {
    phase = Phase.DONE;
    timers.cancelAll();
    getContext().getLog().error("run failed: {}", why);
    spec.result().complete(new RunResult(stepsDone, spec.runDir().dir().toString(), lastLossCapi, 0, why));
    stopWorkers();
  }

}
