package capi.collective;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Optional;

/**
 * A node's mark for same-host detection: the file {@code <base>/capi-node-<pid>-<token>} that holds
 * its token (16 hex digits, random per node start). The node's udp endpoints name the file
 * (Endpoint.Udp). A rank that finds an endpoint's file here, holding the token of its name, written
 * by a process that runs here, shares memory with that rank: containers can share a boot id or a
 * network namespace but not /dev/shm, and the file tells. Rank 0's token also names the group's
 * mapped file (MappedGroup). Deleted on close; the files of processes that no longer run are
 * deleted when a node starts.
 *
 * @param path the token file
 * @param pid the process that wrote it
 * @param token the random token, also the file's content in hex
 * @param process the writer's handle (pid and start time: a reused pid is not taken for it)
 */
record NodeToken(Path path, long pid, long token, ProcessHandle process) {
  static final String PREFIX = "capi-node-";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Writes this process's token file under {@code base} (atomically: a reader sees all of it or nothing). */
  static NodeToken create(Path base) {
    ShmFiles.deleteThoseOfDeadProcesses(base, PREFIX);
    long token = RANDOM.nextLong();
    ProcessHandle self = ProcessHandle.current();
    Path path = base.resolve(PREFIX + self.pid() + "-" + hex(token));
    try {
      Path tmp = Files.createFile(base.resolve(path.getFileName() + ".tmp"), ShmFiles.OWNER_ONLY);
      Files.writeString(tmp, hex(token));
      Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the same-host token " + path, e);
    }
    return new NodeToken(path, self.pid(), token, self);
  }

  /**
   * The token file an endpoint names, if it is valid here: its name is capi's, it exists here with
   * the token of its name, and its writer runs here.
   */
  static Optional<NodeToken> find(String path) {
    Path p = Path.of(path);
    String name = p.getFileName() == null ? "" : p.getFileName().toString();
    if (!name.startsWith(PREFIX)) return Optional.empty();
    String[] pidAndToken = name.substring(PREFIX.length()).split("-");
    try {
      if (pidAndToken.length != 2 || !Files.readString(p).equals(pidAndToken[1])) return Optional.empty();
      long pid = Long.parseLong(pidAndToken[0]);
      long token = Long.parseUnsignedLong(pidAndToken[1], 16);
      return ProcessHandle.of(pid).map(process -> new NodeToken(p, pid, token, process));
    } catch (IOException | NumberFormatException notHere) {
      return Optional.empty();
    }
  }

  /** The mapped file of generation {@code generation} of a group whose rank 0 holds this token. */
  Path groupFile(int generation) {
    return path.resolveSibling(MappedGroup.PREFIX + pid + "-" + hex(token) + "-" + generation);
  }

  void delete() {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      // The sweep of a later start deletes it (the pid is dead by then).
    }
  }

  private static String hex(long token) {
    return String.format("%016x", token);
  }
}
