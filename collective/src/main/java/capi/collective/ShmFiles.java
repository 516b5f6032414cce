package capi.collective;

import capi.config.CollectiveConfig;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.agrona.IoUtil;

/**
 * Where a node keeps its shared-memory files (Aeron directories, same-host tokens, mapped
 * all-reduce groups), and the sweep of those a crashed process left behind. Every such name is
 * {@code <prefix><pid>-...}: the pid tells whether its owner still runs. They are the owner's only
 * (files 0600, Aeron directories 0700): gradients pass through them, and only processes of the
 * same user on the same host may join a mapped group.
 */
final class ShmFiles {
  /** Read and write for the owner alone, at creation (no moment in which others could open it). */
  static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

  private ShmFiles() {}

  /** Closes an Aeron directory (made by the media driver with the umask's mode) to other users. */
  static void ownerOnly(Path dir) {
    try {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restrict " + dir + " to its owner", e);
    }
  }

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
