package capi.collective;

import capi.config.CollectiveConfig;
import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;

/**
 * One node's embedded Aeron media driver and the client every rank of the node shares. Its
 * directory {@code <base>/capi-aeron-<pid>-<n>-<node>} is unique per process and start, deleted on
 * start and on close; directories left by processes that no longer run are deleted on start.
 */
public final class AeronNode implements AutoCloseable {
  private static final String PREFIX = "capi-aeron-";
  private static final AtomicInteger STARTS = new AtomicInteger();

  private final MediaDriver driver;
  private final Aeron aeron;

  private AeronNode(MediaDriver driver, Aeron aeron) {
    this.driver = driver;
    this.aeron = aeron;
  }

  public static AeronNode start(CollectiveConfig cfg, String nodeName) {
    Path base = baseDirectory(cfg);
    deleteDirectoriesOfDeadProcesses(base);
    String name = PREFIX + ProcessHandle.current().pid() + "-" + STARTS.incrementAndGet() + "-"
        + nodeName.replaceAll("[^A-Za-z0-9_.-]", "_");
    MediaDriver.Context ctx = new MediaDriver.Context()
        .aeronDirectoryName(base.resolve(name).toString())
        .dirDeleteOnStart(true)
        .dirDeleteOnShutdown(true)
        .threadingMode(ThreadingMode.valueOf(cfg.threadingMode().toUpperCase().replace('-', '_')))
        .ipcMtuLength(cfg.mtu())
        .mtuLength(cfg.mtu())
        .ipcTermBufferLength(cfg.termLength())
        .publicationTermBufferLength(cfg.termLength())
        .socketRcvbufLength(cfg.socketBuffer())
        .socketSndbufLength(cfg.socketBuffer());
    MediaDriver driver = MediaDriver.launchEmbedded(ctx);
    try {
      return new AeronNode(driver, Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName())));
    } catch (RuntimeException e) {
      driver.close();
      throw e;
    }
  }

  public Aeron aeron() {
    return aeron;
  }

  public Path directory() {
    return Path.of(driver.aeronDirectoryName());
  }

  @Override
  public void close() {
    CloseHelper.closeAll(aeron, driver);
  }

  private static Path baseDirectory(CollectiveConfig cfg) {
    if (!cfg.aeronDir().isEmpty()) return Path.of(cfg.aeronDir());
    Path shm = Path.of("/dev/shm");
    return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
  }

  /** A crashed run leaves its directory (and its log buffers) behind; its name carries the pid. */
  private static void deleteDirectoriesOfDeadProcesses(Path base) {
    File[] dirs = base.toFile().listFiles((d, n) -> n.startsWith(PREFIX));
    if (dirs == null) return;
    for (File dir : dirs) {
      String rest = dir.getName().substring(PREFIX.length());
      int dash = rest.indexOf('-');
      try {
        long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
        if (ProcessHandle.of(pid).isEmpty()) IoUtil.delete(dir, true);
      } catch (NumberFormatException notOurs) {
        // Not a name this class made; leave it alone.
      }
    }
  }
}
