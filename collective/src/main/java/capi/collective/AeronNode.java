package capi.collective;

import capi.config.CollectiveConfig;
import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.exceptions.AeronException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.agrona.CloseHelper;

/**
 * One node's embedded Aeron media driver and the client every rank of the node shares. Its
 * directory {@code <base>/capi-aeron-<pid>-<n>-<node>} is unique per process and start, deleted on
 * start and on close; directories left by processes that no longer run are deleted on start.
 *
 * <p>Threading mode invoker: the driver and the client conductor have no threads of their own;
 * the ranks run their duty cycles ({@link #doWork}) while they wait in an all-reduce, one rank at
 * a time (the client's lock), and a keeper thread runs them every millisecond in between, so that
 * keepalives and liveness timeouts go on while the ranks compute.
 */
public final class AeronNode implements AutoCloseable {
  private static final String PREFIX = "capi-aeron-";
  private static final System.Logger LOG = System.getLogger(AeronNode.class.getName());
  private static final AtomicInteger STARTS = new AtomicInteger();
  private static final long KEEPER_PERIOD_NS = 1_000_000;
  /**
   * The client's and the driver's timeouts on each other (Aeron's default 10 s each). Both live in
   * this process and stop and resume together, so these keepalives protect nothing; but a pause
   * longer than them (SIGSTOP, a long GC, a stalled VM, a suspended laptop) made the driver time the
   * client out, or the client its driver or its own duty cycle, and the client closed itself for good:
   * no ring could be joined again. So a day here. Peers are watched by capi.collective.timeout (RingAllReduce);
   * Aeron's timeouts on remote peers (images, connections) keep their defaults.
   */
  static final long IN_PROCESS_TIMEOUT_NS = TimeUnit.DAYS.toNanos(1);

  private final MediaDriver driver;
  private final Aeron aeron;
  private final AtomicReference<Throwable> fatalError; // the client's first fatal error: it closes itself
  // Invoker mode only (else null): the client's lock, which also guards the driver's agents.
  private final ReentrantLock agentsLock;
  private final Thread keeper;
  private volatile boolean closing;

  private AeronNode(MediaDriver driver, Aeron aeron, AtomicReference<Throwable> fatalError, ReentrantLock agentsLock) {
    this.driver = driver;
    this.aeron = aeron;
    this.fatalError = fatalError;
    this.agentsLock = agentsLock;
    this.keeper = agentsLock == null ? null : new Thread(this::keep, "capi-aeron-keeper");
    if (keeper != null) {
      keeper.setDaemon(true);
      keeper.start();
    }
  }

  public static AeronNode start(CollectiveConfig cfg, String nodeName) {
    Path base = ShmFiles.base(cfg);
    ShmFiles.deleteThoseOfDeadProcesses(base, PREFIX); // a crashed run leaves its directory (and logs) behind
    String name = PREFIX + ProcessHandle.current().pid() + "-" + STARTS.incrementAndGet() + "-"
        + nodeName.replaceAll("[^A-Za-z0-9_.-]", "_");
    ThreadingMode mode = ThreadingMode.valueOf(cfg.threadingMode().name());
    MediaDriver.Context ctx = new MediaDriver.Context()
        .aeronDirectoryName(base.resolve(name).toString())
        .dirDeleteOnStart(true)
        .dirDeleteOnShutdown(true)
        .threadingMode(mode)
        .ipcMtuLength(cfg.mtu())
        .mtuLength(cfg.mtu())
        .ipcTermBufferLength(cfg.termLength())
        .publicationTermBufferLength(cfg.termLength())
        .socketRcvbufLength(cfg.socketBuffer())
        .socketSndbufLength(cfg.socketBuffer())
        // Also the client's duty-cycle interval (the client reads it from the driver's CnC file).
        .clientLivenessTimeoutNs(IN_PROCESS_TIMEOUT_NS)
        // Must exceed the client liveness; a publisher paused between claim and commit is no dead one.
        .publicationUnblockTimeoutNs(2 * IN_PROCESS_TIMEOUT_NS);
    MediaDriver driver = MediaDriver.launchEmbedded(ctx);
    try {
      ShmFiles.ownerOnly(Path.of(driver.aeronDirectoryName()));
      AtomicReference<Throwable> fatalError = new AtomicReference<>();
      Aeron.Context client = new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName())
          .driverTimeoutMs(TimeUnit.NANOSECONDS.toMillis(IN_PROCESS_TIMEOUT_NS)) // bounds replies of our own driver too
          // Aeron's default handler prints and, on a driver timeout, exits the JVM; a closed client is
          // restarted instead (CollectiveNode).
          .errorHandler(e -> {
            if (AeronException.isFatal(e)) fatalError.compareAndSet(null, e);
            LOG.log(System.Logger.Level.WARNING, "Aeron client of " + name + ": " + e, e);
          });
      if (mode != ThreadingMode.INVOKER) return new AeronNode(driver, Aeron.connect(client), fatalError, null);
      ReentrantLock lock = new ReentrantLock();
      // The client runs the driver's agents itself while it awaits the driver's responses.
      client.useConductorAgentInvoker(true).driverAgentInvoker(driver.sharedAgentInvoker()).clientLock(lock);
      return new AeronNode(driver, Aeron.connect(client), fatalError, lock);
    } catch (RuntimeException e) {
      driver.close();
      throw e;
    }
  }

  public Aeron aeron() {
    return aeron;
  }

  /**
   * Whether the client was closed, or has closed itself or is about to (after a fatal error of its
   * own, e.g. a timeout: see IN_PROCESS_TIMEOUT_NS; it closes in its next duty cycle): then it can
   * open no links, and the node must be started anew.
   */
  public boolean isClosed() {
    return aeron.isClosed() || fatalError.get() != null;
  }

  /** The client's first fatal error ("none"), i.e. why it closed itself. */
  public String fatalError() {
    Throwable e = fatalError.get();
    return e == null ? "none" : e.toString();
  }

  public Path directory() {
    return Path.of(driver.aeronDirectoryName());
  }

  /**
   * Threading mode invoker: one duty cycle of the media driver and the client conductor, unless
   * another thread of this node is running one; the work count. Other modes: 0 (their own threads
   * do it).
   */
  public int doWork() {
    if (agentsLock == null || !agentsLock.tryLock()) return 0;
    try {
      return driver.sharedAgentInvoker().invoke() + aeron.conductorAgentInvoker().invoke();
    } finally {
      agentsLock.unlock();
    }
  }

  @Override
  public void close() {
    closing = true;
    if (keeper != null) {
      LockSupport.unpark(keeper);
      boolean interrupted = false;
      while (keeper.isAlive()) { // it must not run a duty cycle of a closed driver
        try {
          keeper.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) Thread.currentThread().interrupt();
      // A rank of an old ring may still run a duty cycle (CollectiveNode restarted this node): after
      // this, doWork finds the agents closed and does nothing.
      agentsLock.lock();
      try {
        CloseHelper.closeAll(aeron, driver);
      } finally {
        agentsLock.unlock();
      }
      return;
    }
    CloseHelper.closeAll(aeron, driver);
  }

  private void keep() {
    while (!closing) {
      doWork();
      LockSupport.parkNanos(KEEPER_PERIOD_NS);
    }
  }
}
