package capi.data;

import java.util.concurrent.atomic.AtomicLong;

/** Process-wide counters of the data path, for the metrics exporter. */
public final class DataCounters {
  private static final System.Logger LOG = System.getLogger("capi.data");
  private static final AtomicLong SKIPPED = new AtomicLong();

  private DataCounters() {}

  /** Images found corrupt, truncated or unreadable (each counted once) since the JVM started. */
  public static long skippedImages() {
    return SKIPPED.get();
  }

  /** Logs and counts one skipped image; callers make sure each file comes here once. */
  static void skipped(String where, String why) {
    SKIPPED.incrementAndGet();
    LOG.log(System.Logger.Level.WARNING, "skipping unreadable image " + where + ": " + why);
  }
}
