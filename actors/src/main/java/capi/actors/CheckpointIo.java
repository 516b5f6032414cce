package capi.actors;

import capi.engine.checkpoint.CheckpointStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * The coordinator's checkpoint disk work — finding the newest valid checkpoint (every file hashed),
 * creating a pending one, committing it (hashes, fsync, rename, LATEST, prune), discarding it — on a
 * thread of its own, in the order it was asked for, so the coordinator's actor thread never waits on
 * the disk: it pipes each future to itself as a message. A discard asked for after a commit runs
 * after it; the thread ends when the coordinator stops, after the work already asked for.
 */
final class CheckpointIo implements AutoCloseable {
  /** What the coordinator loads: the scan, and the state of the checkpoint it found (null if none). */
  record Found(CheckpointStore.Scan scan, CheckpointStore.State state) {}

  private final CheckpointStore store;
  private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "capi-checkpoint-io");
    t.setDaemon(true);
    return t;
  });

  CheckpointIo(CheckpointStore store) {
    this.store = store;
  }

  CompletableFuture<Found> find() {
    return io(() -> {
      CheckpointStore.Scan scan = store.scan();
      return new Found(scan, scan.newest().isPresent() ? scan.newest().get().state() : null);
    });
  }

  CompletableFuture<CheckpointStore.Pending> begin(long step) {
    return io(() -> store.begin(step));
  }

  /** Commits with state.json and a copy of the run's {@code config}; completes with the published directory. */
  CompletableFuture<Path> commit(CheckpointStore.Pending pending, CheckpointStore.State state, Path config) {
    return io(() -> pending.commit(state, config));
  }

  /** Removes a pending checkpoint that will not be committed; a failure is only reported. */
  void discard(CheckpointStore.Pending pending, Consumer<String> warn) {
    io(() -> {
      pending.close();
      return null;
    }).exceptionally(e -> {
      warn.accept("could not discard a partial checkpoint " + pending.dir() + ": " + e.getMessage());
      return null;
    });
  }

  @Override
  public void close() {
    thread.shutdown();
  }

  private interface IoCall<T> {
    T call() throws IOException;
  }

  private <T> CompletableFuture<T> io(IoCall<T> call) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return call.call();
      } catch (IOException e) {
        throw new CompletionException(e);
      }
    }, thread);
  }
}
