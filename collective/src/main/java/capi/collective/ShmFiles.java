package capi.collective;

import capi.config.CollectiveConfig;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.agrona.IoUtil;

/**
 * Where a node keeps its shared-memory files (Aeron directories, same-host tokens, mapped
 * all-reduce groups), and the sweep of those a crashed process left behind. Every such name is
 * {@code <prefix><pid>-...}: the pid tells whether its owner still runs.
 */
final class ShmFiles {
  private ShmFiles() {}

  /** capi.collective.aeron-dir, or "" = /dev/shm when present and writable, else java.io.tmpdir. */
  static Path base(CollectiveConfig cfg) {
    if (!cfg.aeronDir().isEmpty()) return Path.of(cfg.aeronDir());
    Path shm = Path.of("/dev/shm");
    return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
  }

  /** Deletes the files and directories {@code <base>/<prefix><pid>...} whose process no longer runs. */
  static void deleteThoseOfDeadProcesses(Path base, String prefix) {
    File[] found = base.toFile().listFiles((d, n) -> n.startsWith(prefix));
    if (found == null) return;
    for (File f : found) {
      String rest = f.getName().substring(prefix.length());
      int dash = rest.indexOf('-');
      try {
        long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
        if (ProcessHandle.of(pid).isEmpty()) IoUtil.delete(f, true);
      } catch (NumberFormatException notOurs) {
        // Not a name capi made; leave it alone.
      }
    }
  }
}
