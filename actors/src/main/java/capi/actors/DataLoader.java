package capi.actors;

import capi.config.BadConfigException;
import capi.data.BatchSource;
import capi.data.CapiBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One worker's data loader: prepares that rank's batches (decode, augment, mask) on its own thread
 * pool, a bounded window ahead of the step the worker last asked for, and answers {@link Next} as
 * soon as the batch is ready. Batches come from a deterministic {@link BatchSource}, so a request
 * for any step (a resume, a restart after a failure) gets exactly that step's batch.
 */
public final class DataLoader extends AbstractBehavior<DataLoader.Command> {

  /** Messages to the loader. */
  public sealed interface Command permits Next, Stop, Prepared {}

  /** Asks for this rank's batch of step; answered with {@link Batch} or {@link Failed}. */
  public record Next(long step, ActorRef<Reply> replyTo) implements Command {}

  /** Stops the loader and its threads. */
  public record Stop() implements Command {}

  /** A batch finished (or failed) on the pool. */
  private record Prepared(long step, CapiBatch batch, Throwable error) implements Command {}

  /** Answers to {@link Next}. */
  public sealed interface Reply permits Batch, Failed {}

  /** A batch, and how many later batches were already prepared when it left (the prefetch queue depth). */
  public record Batch(CapiBatch batch, int readyAhead) implements Reply {}

  /**
   * The batch of step could not be made; message says why. {@code badInput}: the dataset is at fault
   * (no readable image: BadConfigException), not the machine.
   */
  public record Failed(long step, String message, boolean badInput) implements Reply {}

  /** A step being prepared or ready, and who waits for it. */
  private static final class Slot {
    CapiBatch batch;
    Throwable error;
    boolean done;
    final List<ActorRef<Reply>> waiting = new ArrayList<>();
  }

  private final BatchSource source;
  private final int rank;
  private final int worldSize;
  private final int prefetch;
  private final ExecutorService pool;
  private final TreeMap<Long, Slot> slots = new TreeMap<>(); // at most prefetch + 1 entries

  /**
   * @param firstStep the step the worker will ask for first; preparation starts there
   * @param threads decode/augment threads of this loader
   * @param prefetch batches prepared ahead of the requested one (bounded memory: prefetch + 1 batches)
   */
  public static Behavior<Command> create(
      BatchSource source, int rank, int worldSize, long firstStep, int threads, int prefetch) {
    source.localBatch(worldSize); // a global batch that does not divide fails here, not later
    if (threads < 1 || prefetch < 1) throw new IllegalArgumentException("threads and prefetch must be >= 1");
    return Behaviors.setup(ctx -> new DataLoader(ctx, source, rank, worldSize, firstStep, threads, prefetch));
  }

  private DataLoader(ActorContext<Command> ctx, BatchSource source, int rank, int worldSize,
      long firstStep, int threads, int prefetch) {
    super(ctx);
    this.source = source;
    this.rank = rank;
    this.worldSize = worldSize;
    this.prefetch = prefetch;
    this.pool = Executors.newFixedThreadPool(threads, daemonThreads("capi-data-r" + rank + "-"));
    for (long s = firstStep; s < firstStep + prefetch; s++) prepare(s);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Next.class, this::onNext)
        .onMessage(Prepared.class, this::onPrepared)
        .onMessage(Stop.class, m -> Behaviors.stopped())
        .onSignal(PostStop.class, s -> {
          pool.shutdownNow();
          return this;
        })
        .build();
  }

  private Behavior<Command> onNext(Next next) {
    long step = next.step();
    // Keep only the window [step, step + prefetch]; batches outside it are not wanted any more.
    slots.headMap(step).clear();
    slots.tailMap(step + prefetch, false).clear();
    Slot slot = slots.get(step);
    if (slot == null) slot = prepare(step);
    slot.waiting.add(next.replyTo());
    if (slot.done) answer(step, slot);
    for (long s = step + 1; s <= step + prefetch; s++) {
      if (!slots.containsKey(s)) prepare(s);
    }
    return this;
  }

  private Behavior<Command> onPrepared(Prepared p) {
    Slot slot = slots.get(p.step());
    if (slot == null) return this; // dropped from the window while it was being made
    slot.batch = p.batch();
    slot.error = p.error();
    slot.done = true;
    if (!slot.waiting.isEmpty()) answer(p.step(), slot);
    return this;
  }

  private Slot prepare(long step) {
    Slot slot = new Slot();
    slots.put(step, slot);
    getContext().pipeToSelf(source.batchAsync(step, rank, worldSize, pool), (batch, error) -> new Prepared(step, batch, error));
    return slot;
  }

  /** Hands a finished slot to its waiters; it leaves the window (a repeated Next makes it again). */
  private void answer(long step, Slot slot) {
    slots.remove(step);
    int ready = (int) slots.values().stream().filter(s -> s.done).count();
    Reply reply = slot.error == null ? new Batch(slot.batch, ready) : failed(step, rootCause(slot.error));
    for (ActorRef<Reply> w : slot.waiting) w.tell(reply);
  }

  private static Failed failed(long step, Throwable cause) {
    boolean badInput = cause instanceof BadConfigException;
    return new Failed(step, "batch of step " + step + " failed: " + (badInput ? cause.getMessage() : cause.toString()),
        badInput);
  }

  private static Throwable rootCause(Throwable t) {
    while (t.getCause() != null) t = t.getCause();
    return t;
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
