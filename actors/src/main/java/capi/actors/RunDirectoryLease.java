package capi.actors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.coordination.lease.LeaseSettings;
import org.apache.pekko.coordination.lease.javadsl.Lease;

/**
 * The split brain resolver's lease (lease-majority, reference.conf) held as files in the run
 * directory: the one resource every node of a run must reach anyway (checkpoints), so the side of
 * a partition that can take it is the side that can go on training, and a lone survivor of a
 * two-node cluster takes it although it is no majority.
 *
 * <p>Layout: {@code <directory>/term-<n>} for n = 1, 2, …; the highest n is the lease. Its content is
 * one line {@code OWNER EXPIRES_AT_MILLIS} (0 = released). A node takes a free lease (released,
 * expired, or none yet) by creating term n+1: written to a private file, then hard-linked into
 * place, which fails if another node linked it first (atomic on local filesystems and NFS alike).
 * Only the holder rewrites its own term (renewal every heartbeat-interval, by atomic rename); it
 * has lost the lease when a higher term appears or its expiry passed. Expiry compares the holder's
 * clock with the reader's: the nodes' clocks must agree to well within heartbeat-timeout (NTP).
 */
public final class RunDirectoryLease extends Lease {
  private static final String TERM = "term-";

  private final LeaseSettings settings;
  private final Path directory;
  private final long timeoutMillis;
  private final ScheduledExecutorService io;
  private int held; // the term this node holds, 0 for none; on the io thread only
  private volatile boolean holding;
  private ScheduledFuture<?> heartbeat;
  private Consumer<Optional<Throwable>> onLost = lost -> {};

  public RunDirectoryLease(LeaseSettings settings, ExtendedActorSystem system) {
    this(settings);
  }

  RunDirectoryLease(LeaseSettings settings) {
    this.settings = settings;
    this.directory = Path.of(settings.leaseConfig().getString("directory"), settings.leaseName());
    this.timeoutMillis = settings.timeoutSettings().getHeartbeatTimeout().toMillis();
    this.io = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "capi-lease");
      t.setDaemon(true);
      return t;
    });
  }

  @Override
  public LeaseSettings getSettings() {
    return settings;
  }

  @Override
  public CompletionStage<Boolean> acquire() {
    return acquire(lost -> {});
  }

  @Override
  public CompletionStage<Boolean> acquire(Consumer<Optional<Throwable>> leaseLostCallback) {
    return CompletableFuture.supplyAsync(() -> {
      onLost = leaseLostCallback;
      int term = takeOrRenew();
      boolean ok = term > 0;
      holding = ok;
      held = term;
      if (ok && heartbeat == null) {
        long every = settings.timeoutSettings().getHeartbeatInterval().toMillis();
        heartbeat = io.scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MILLISECONDS);
      }
      return ok;
    }, io);
  }

  @Override
  public CompletionStage<Boolean> release() {
    return CompletableFuture.supplyAsync(() -> {
      stopHeartbeat();
      if (held > 0 && highestTerm() == held) write(held, 0);
      held = 0;
      holding = false;
      return true;
    }, io);
  }

  @Override
  public boolean checkLease() {
    return holding;
  }

  /** Takes the lease as a new term, or renews this node's own: the term held, or 0 if another holds it. */
  private int takeOrRenew() {
    try {
      Files.createDirectories(directory);
      int top = highestTerm();
      Optional<String[]> current = top == 0 ? Optional.empty() : read(top);
      if (current.isPresent() && current.get()[0].equals(settings.ownerName()) && !expired(current.get())) {
        write(top, System.currentTimeMillis() + timeoutMillis);
        return top;
      }
      if (current.isPresent() && !expired(current.get())) return 0; // held by another node
      Path mine = Files.createTempFile(directory, "new-", ".tmp");
      try {
        Files.writeString(mine, line(System.currentTimeMillis() + timeoutMillis), StandardCharsets.UTF_8);
        Files.createLink(directory.resolve(TERM + (top + 1)), mine);
      } catch (FileAlreadyExistsException another) {
        return 0; // another node took the same term first
      } finally {
        Files.deleteIfExists(mine);
      }
      if (top > 0) Files.deleteIfExists(directory.resolve(TERM + top)); // the term just superseded
      return top + 1;
    } catch (IOException e) {
      throw new UncheckedIOException("lease in " + directory + ": " + e.getMessage(), e);
    }
  }

  /** The heartbeat: pushes the expiry on, or reports the lease lost when another term replaced it. */
  private void renew() {
    if (held == 0) return;
    try {
      if (highestTerm() != held) {
        lose(new IllegalStateException("lease " + directory + " was taken over (term " + highestTerm() + ")"));
      } else {
        write(held, System.currentTimeMillis() + timeoutMillis);
      }
    } catch (UncheckedIOException e) {
      lose(e);
    }
  }

  private void lose(Throwable why) {
    stopHeartbeat();
    held = 0;
    holding = false;
    onLost.accept(Optional.of(why));
  }

  private void stopHeartbeat() {
    if (heartbeat != null) heartbeat.cancel(false);
    heartbeat = null;
  }

  private boolean expired(String[] content) {
    return Long.parseLong(content[1]) <= System.currentTimeMillis();
  }

  private String line(long expiresAt) {
    return settings.ownerName() + " " + expiresAt + "\n";
  }

  /** Rewrites term {@code term} atomically (only its holder does). */
  private void write(int term, long expiresAt) {
    try {
      Path tmp = Files.createTempFile(directory, "renew-", ".tmp");
      Files.writeString(tmp, line(expiresAt), StandardCharsets.UTF_8);
      Files.move(tmp, directory.resolve(TERM + term), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("lease " + directory + ": " + e.getMessage(), e);
    }
  }

  /** OWNER and EXPIRES_AT of a term; empty when it vanished (superseded) meanwhile. */
  private Optional<String[]> read(int term) throws IOException {
    try {
      String[] parts = Files.readString(directory.resolve(TERM + term), StandardCharsets.UTF_8).trim().split(" ");
      if (parts.length != 2 || !parts[1].matches("\\d+")) throw new IOException("term-" + term + " is damaged");
      return Optional.of(parts);
    } catch (NoSuchFileException superseded) {
      return Optional.empty();
    }
  }

  private int highestTerm() {
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.matches(TERM + "\\d+"))
          .mapToInt(n -> Integer.parseInt(n.substring(TERM.length()))).max().orElse(0);
    } catch (IOException e) {
      throw new UncheckedIOException("lease " + directory + ": " + e.getMessage(), e);
    }
  }
}
