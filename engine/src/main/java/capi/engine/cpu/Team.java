package capi.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of threads for data-parallel loops: [0, n) is cut into pieces that the calling
 * thread and {@code size − 1} helper threads claim one by one, so a helper the operating system
 * has not scheduled (a shared machine) costs at most the piece it holds: the caller takes the
 * rest. Helpers spin briefly between jobs (the primitives of a step follow each other within
 * microseconds) and park when idle. One caller at a time; a body must not start another loop.
 *
 * <p>A job is published through one counter, (epoch &lt;&lt; 32) | next piece, which is closed
 * (low half all ones) while the caller writes the next job's fields: a claim is a compare-and-set
 * on the value read before the fields, so a claimed piece always belongs to the fields read. No
 * allocation per job.
 *
 * <pre>
 *   caller:   write body, n, pieces → open (epoch+1, piece 0) → unpark parked helpers → claim pieces
 *             → wait until every piece is done → close
 *   helper w: wait for the counter to change (spin, then park) → claim pieces while the job is open
 * </pre>
 *
 * Results must not depend on which thread runs a piece (scratch is per worker, chosen by the
 * worker number the body gets).
 */
final class Team implements AutoCloseable {
  /** A loop body over [lo, hi) run by worker `worker` (0: the caller) with that worker's scratch. */
  interface Body {
    void run(int lo, int hi, int worker);
  }

  private static final long SPIN_NANOS = 200_000; // helpers stay hot this long after a job
  private static final long CLOSED = 0xFFFF_FFFFL;
  private static final int PIECES_PER_THREAD = 4;

  private final int size;
  private final Thread[] helpers;
  private final AtomicLong counter = new AtomicLong(CLOSED);
  private final AtomicInteger done = new AtomicInteger();
  private final AtomicIntegerArray parked; // 1 while helper w+1 parks (Dekker with the counter)
  private volatile boolean closed;
  private long epoch; // the caller's
  // the open job; written only while the counter is closed
  private Body body;
  private int n;
  private int pieces;
  private volatile Throwable failure;

  Team(int size) {
    this.size = Math.max(1, size);
    this.helpers = new Thread[this.size - 1];
    this.parked = new AtomicIntegerArray(this.size - 1);
    for (int w = 1; w < this.size; w++) {
      int worker = w;
      Thread t = new Thread(() -> helperLoop(worker), "capi-cpu-" + w);
      t.setDaemon(true);
      helpers[w - 1] = t;
      t.start();
    }
  }

  int size() {
    return size;
  }

  /** Runs body over [0, n) in pieces of at least grain items (at most 4 per thread). */
  void run(int n, int grain, Body body) {
    run(n, grain, PIECES_PER_THREAD * size, body);
  }

  /** As {@link #run(int, int, Body)} with at most maxPieces pieces (each piece has a set-up cost). */
  void run(int n, int grain, int maxPieces, Body body) {
    int p = (int) Math.max(1, Math.min(Math.min(maxPieces, PIECES_PER_THREAD * size), n / Math.max(1, grain)));
    if (size == 1 || p == 1) {
      body.run(0, n, 0);
      return;
    }
    this.body = body;
    this.n = n;
    this.pieces = p;
    failure = null;
    done.set(0);
    epoch++;
    counter.set(epoch << 32); // open: publishes the fields above
    for (int w = 1; w < size; w++) {
      if (parked.get(w - 1) == 1) LockSupport.unpark(helpers[w - 1]);
    }
    work(0);
    while (done.get() < p) Thread.onSpinWait();
    counter.set(epoch << 32 | CLOSED);
    this.body = null;
    Throwable f = failure;
    if (f != null) {
      if (f instanceof RuntimeException e) throw e;
      if (f instanceof Error e) throw e;
      throw new IllegalStateException(f);
    }
  }

  /** Claims and runs pieces of the open job until none is left; returns the counter value that said so. */
  private long work(int worker) {
    while (true) {
      long t = counter.get();
      long piece = t & CLOSED;
      if (piece == CLOSED) return t;
      Body b = body;
      int total = n, count = pieces;
      if (piece >= count) return t;
      if (!counter.compareAndSet(t, t + 1)) continue; // another claim, or the job closed: read again
      int p = (int) piece;
      try {
        b.run((int) ((long) total * p / count), (int) ((long) total * (p + 1) / count), worker);
      } catch (Throwable e) {
        failure = e;
      } finally {
        done.incrementAndGet();
      }
    }
  }

  private void helperLoop(int worker) {
    long seen = counter.get();
    while (!closed) {
      long start = System.nanoTime();
      while (counter.get() == seen && !closed) {
        if (System.nanoTime() - start < SPIN_NANOS) {
          Thread.onSpinWait();
        } else {
          parked.set(worker - 1, 1);
          if (counter.get() == seen && !closed) LockSupport.parkNanos(this, 50_000_000);
          parked.set(worker - 1, 0);
          start = System.nanoTime();
        }
      }
      if (closed) return;
      seen = work(worker); // then wait for the counter to move on from where this worker found nothing
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Thread t : helpers) LockSupport.unpark(t);
  }
}
