package capi.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The `capi` JVMs of a test (nodes of a cluster, mostly), a JUnit extension: each started from
 * this JVM's classpath with its output in {@code <name>.log}, optionally behind a command prefix
 * (ip netns exec NS) and with extra environment (a launcher's variables); after each test all are
 * killed (SIGKILL, by pid) and their logs deleted, unless the system property capi.test.logs names
 * a directory to keep them in.
 */
final class CapiProcesses implements BeforeEachCallback, AfterEachCallback {
  private Path dir;
  private final Map<String, Process> started = new LinkedHashMap<>();

  @Override
  public void beforeEach(ExtensionContext context) throws IOException {
    String keep = System.getProperty("capi.test.logs", "");
    dir = keep.isEmpty() ? Files.createTempDirectory("capi-nodes") : Files.createDirectories(Path.of(keep));
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    stopAll();
    if (System.getProperty("capi.test.logs", "").isEmpty()) {
      try (var files = Files.walk(dir)) {
        for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
      }
    }
  }

  /** SIGKILLs every process still running and waits for it (a test's @AfterEach may need them gone first). */
  void stopAll() throws InterruptedException {
    for (Process p : started.values()) p.destroyForcibly();
    for (Process p : started.values()) p.waitFor(30, TimeUnit.SECONDS);
    started.clear();
  }

  private static final Random PORTS = new Random();

  /**
   * A port no process of this machine listens on now, below Linux's ephemeral range (32768 and up):
   * a node that connects to a peer's port before the peer listens gets a source port from that
   * range, and one equal to the port it connects to makes a TCP self-connection that holds the
   * port, so the peer could not bind it.
   */
  static int freePort() {
    for (int tries = 0; tries < 1000; tries++) {
      int port = 20000 + PORTS.nextInt(12000);
      try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      } catch (IOException e) {
        // in use: try another
      }
    }
    throw new IllegalStateException("no free port in [20000, 32000)");
  }

  /** `capi ARGS` as process {@code name}. */
  Process start(String name, List<String> args) {
    return start(name, List.of(), Map.of(), args);
  }

  /** `PREFIX java ... capi ARGS` with {@code env} added to this JVM's environment. */
  Process start(String name, List<String> prefix, Map<String, String> env, List<String> args) {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(CapiProcess.command(args));
    try {
      Process p = CapiProcess.start(cmd, env, log(name));
      Process previous = started.put(name, p);
      if (previous != null) previous.destroyForcibly();
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Path log(String name) {
    return dir.resolve(name + ".log");
  }

  String output(String name) {
    try {
      return Files.exists(log(name)) ? Files.readString(log(name)) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits until {@code condition} holds, failing when {@code limitSeconds} pass or a process of {@code alive} ends. */
  void await(String what, long limitSeconds, BooleanSupplier condition, Process... alive) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(limitSeconds);
    while (!condition.getAsBoolean()) {
      for (Process p : alive) assertTrue(p.isAlive(), () -> "a process ended while waiting for " + what + ": " + tails());
      assertTrue(System.nanoTime() < deadline, () -> "no " + what + " within " + limitSeconds + " s: " + tails());
      Thread.sleep(250);
    }
  }

  /** The end of every process's output (JUnit deletes the directory). */
  String tails() {
    StringBuilder b = new StringBuilder();
    for (String name : started.keySet()) {
      String out = output(name);
      b.append("\n==== ").append(name).append(" (").append(started.get(name).isAlive() ? "running" : "ended")
          .append(") ====\n").append(out.substring(Math.max(0, out.length() - 4000)));
    }
    return b.toString();
  }
}
