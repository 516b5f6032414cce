package capi.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of threads for data-parallel loops: the calling thread and {@code size − 1} helper
 * threads split [0, n) into contiguous chunks, one per thread, and the call returns when all are
 * done. Helpers spin briefly between jobs (the primitives of a step follow each other within
 * microseconds) and park when idle. One caller at a time; a body must not start another loop.
 * Every helper acknowledges every job (running its chunk or not), so no helper can lag a job
 * behind and the job's fields can be plain fields published by the volatile epoch.
 *
 * <pre>
 *   caller:   publish job → epoch++ → unpark parked helpers → run chunk 0 → wait remaining == 0
 *   helper w: wait epoch change (spin, then park) → run chunk w if w < chunks → remaining--
 * </pre>
 */
final class Team implements AutoCloseable {
  /** A loop body over [lo, hi); chunk is the chunk's number in [0, chunks). */
  interface Body {
    void run(int lo, int hi, int chunk);
  }

  private static final long SPIN_NANOS = 200_000; // helpers stay hot this long after a job

  private final int size;
  private final Thread[] helpers;
  private final AtomicInteger remaining = new AtomicInteger();
  private final AtomicIntegerArray parked; // 1 while helper w+1 parks (Dekker with epoch)
  private volatile long epoch;
  private volatile boolean closed;
  private Body body;
  private int n;
  private int chunks;
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

  /** The number of chunks a loop over n items with at least grain items per chunk uses. */
  int chunks(long n, long grain) {
    return (int) Math.max(1, Math.min(size, n / Math.max(1, grain)));
  }

  /** Runs body over [0, n) in {@link #chunks(long, long)} contiguous chunks. */
  void run(int n, int grain, Body body) {
    int c = chunks(n, grain);
    if (c == 1) {
      body.run(0, n, 0);
      return;
    }
    this.body = body;
    this.n = n;
    this.chunks = c;
    this.failure = null;
    remaining.set(size - 1);
    epoch++; // publishes body, n, chunks
    for (int w = 1; w < size; w++) {
      if (parked.get(w - 1) == 1) LockSupport.unpark(helpers[w - 1]);
    }
    try {
      body.run(0, bound(0), 0);
    } finally {
      while (remaining.get() > 0) Thread.onSpinWait();
      this.body = null;
    }
    Throwable f = failure;
    if (f != null) {
      if (f instanceof RuntimeException e) throw e;
      if (f instanceof Error e) throw e;
      throw new IllegalStateException(f);
    }
  }

  private int bound(int chunk) {
    return (int) ((long) n * (chunk + 1) / chunks);
  }

  private void helperLoop(int worker) {
    long seen = 0;
    while (!closed) {
      long start = System.nanoTime();
      while (epoch == seen && !closed) {
        if (System.nanoTime() - start < SPIN_NANOS) {
          Thread.onSpinWait();
        } else {
          parked.set(worker - 1, 1);
          if (epoch == seen && !closed) LockSupport.parkNanos(this, 50_000_000);
          parked.set(worker - 1, 0);
          start = System.nanoTime();
        }
      }
      if (closed) return;
      seen = epoch;
      int c = chunks;
      try {
        if (worker < c) body.run((int) ((long) n * worker / c), bound(worker), worker);
      } catch (Throwable t) {
        failure = t;
      } finally {
        remaining.decrementAndGet();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Thread t : helpers) LockSupport.unpark(t);
  }
}
