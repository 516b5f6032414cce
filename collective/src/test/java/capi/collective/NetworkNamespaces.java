package capi.collective;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hosts for multi-host tests on one Linux machine (a test fixture, shared through the collective
 * test-jar): Linux network namespaces, each joined by a veth pair to a bridge in a namespace of its
 * own, with the addresses 10.77.S.1, 10.77.S.2, … (S from this JVM's pid). Processes started
 * through {@link #command} run in a host's namespace with a /dev/shm of their own, as on separate
 * machines: they reach each other only over the veths (same-host detection finds no peer).
 *
 * <pre>
 *   capi-PID-N-h0 (eth0 10.77.S.1) ──veth──┐
 *   capi-PID-N-h1 (eth0 10.77.S.2) ──veth──┼── br0 in capi-PID-N-sw
 *   capi-PID-N-h2 (eth0 10.77.S.3) ──veth──┘
 * </pre>
 *
 * Needs root and iproute2 ({@link #unavailable} says what is missing, in one line); {@link #impair}
 * needs tc's netem or, where the kernel lacks netem, nftables for the loss alone. {@link #close}
 * deletes the namespaces and with them the veths, the bridge and any rules; the processes started
 * inside are the caller's to end, by pid. Namespaces left by a JVM that died are deleted by the next
 * {@link #create}.
 */
public final class NetworkNamespaces implements AutoCloseable {
  private static final AtomicInteger SETS = new AtomicInteger();
  private static final Pattern OURS = Pattern.compile("capi-(\\d+)-\\d+-(h\\d+|sw)");
  private static final Duration COMMAND_LIMIT = Duration.ofSeconds(20);

  private final String prefix;
  private final int set;
  private final int subnet;
  private final int hosts;

  private NetworkNamespaces(int set, int subnet, int hosts) {
    this.prefix = "capi-" + ProcessHandle.current().pid() + "-" + set;
    this.set = set;
    this.subnet = subnet;
    this.hosts = hosts;
  }

  /** Why namespaces cannot be made here (one line), or empty when they can. */
  public static Optional<String> unavailable() {
    if (!isRoot()) return Optional.of("network namespaces need root (this user is not)");
    for (String tool : List.of("ip", "unshare", "mount")) {
      if (!onPath(tool)) return Optional.of("no `" + tool + "` on PATH (apt-get install -y iproute2 util-linux mount)");
    }
    String probe = "capi-" + ProcessHandle.current().pid() + "-probe";
    try {
      run("ip", "netns", "add", probe);
      run("ip", "netns", "del", probe);
      return Optional.empty();
    } catch (RuntimeException e) {
      return Optional.of("cannot create a network namespace: " + e.getMessage().lines().findFirst().orElse(""));
    }
  }

  /** {@code count} hosts joined by one bridge. */
  public static NetworkNamespaces create(int count) {
    deleteThoseOfDeadProcesses();
    long pid = ProcessHandle.current().pid();
    NetworkNamespaces n = new NetworkNamespaces(SETS.incrementAndGet(), 1 + (int) (pid % 250), count);
    try {
      n.build();
      return n;
    } catch (RuntimeException e) {
      n.close();
      throw e;
    }
  }

  private void build() {
    String sw = prefix + "-sw";
    run("ip", "netns", "add", sw);
    run("ip", "-n", sw, "link", "add", "br0", "type", "bridge");
    run("ip", "-n", sw, "link", "set", "br0", "up");
    for (int h = 0; h < hosts; h++) {
      String ns = namespace(h);
      // veth names are global until moved: unique per JVM and set, at most 15 characters
      String inner = "cv" + Long.toHexString(ProcessHandle.current().pid()) + "s" + set + "h" + h + "a";
      String outer = inner.substring(0, inner.length() - 1) + "b";
      run("ip", "netns", "add", ns);
      run("ip", "link", "add", inner, "type", "veth", "peer", "name", outer);
      run("ip", "link", "set", inner, "netns", ns);
      run("ip", "link", "set", outer, "netns", sw);
      run("ip", "-n", ns, "link", "set", inner, "name", "eth0");
      run("ip", "-n", ns, "addr", "add", address(h) + "/24", "dev", "eth0");
      run("ip", "-n", ns, "link", "set", "eth0", "up");
      run("ip", "-n", ns, "link", "set", "lo", "up");
      run("ip", "-n", sw, "link", "set", outer, "master", "br0");
      run("ip", "-n", sw, "link", "set", outer, "up");
    }
  }

  public int hosts() {
    return hosts;
  }

  /** Host {@code h}'s namespace. */
  public String namespace(int h) {
    return prefix + "-h" + h;
  }

  /** Host {@code h}'s address (h from 0). */
  public String address(int h) {
    return "10.77." + subnet + "." + (h + 1);
  }

  /**
   * The prefix that runs a command on host {@code h}: in its network namespace, with a /dev/shm of
   * its own. Each step execs the next, so the process's pid is the command's (a SIGKILL reaches it).
   */
  public List<String> command(int h) {
    return List.of("ip", "netns", "exec", namespace(h), "unshare", "--mount", "--propagation", "private",
        "sh", "-c", "mount -t tmpfs -o size=2g,mode=1777 capi-shm /dev/shm && exec \"$@\"", "sh");
  }

  /**
   * Delays and drops host {@code h}'s outgoing packets: tc netem (delay and loss) where the kernel
   * has it, else nftables' random drop (the loss alone). Says what it applied.
   */
  public String impair(int h, Duration delay, double lossPercent) {
    String ns = namespace(h);
    try {
      run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
          "delay", delay.toMillis() + "ms", "loss", lossPercent + "%");
      return "netem delay " + delay.toMillis() + " ms, loss " + lossPercent + "%";
    } catch (RuntimeException noNetem) {
      if (!onPath("nft")) {
        throw new IllegalStateException("no netem in this kernel (" + noNetem.getMessage().lines().findFirst().orElse("")
            + ") and no nft for the loss (apt-get install -y nftables)");
      }
      int perTenThousand = (int) Math.round(lossPercent * 100);
      run("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "capi");
      run("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "capi", "out", "{ type filter hook output priority 0; }");
      run("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "capi", "out", "oifname", "eth0",
          "numgen", "random", "mod", "10000", "<", Integer.toString(perTenThousand), "drop");
      return "loss " + lossPercent + "% (nftables; this kernel has no netem, so no delay)";
    }
  }

  /** Deletes the namespaces (the veths and the bridge go with them). */
  @Override
  public void close() {
    for (int h = 0; h < hosts; h++) deleteQuietly(namespace(h));
    deleteQuietly(prefix + "-sw");
  }

  private static void deleteQuietly(String ns) {
    try {
      run("ip", "netns", "del", ns);
    } catch (RuntimeException gone) {
      // never made, or deleted already
    }
  }

  /** Namespaces named by this class for a JVM that no longer runs. */
  private static void deleteThoseOfDeadProcesses() {
    Path dir = Path.of("/run/netns");
    if (!Files.isDirectory(dir)) return;
    try (var names = Files.list(dir)) {
      for (Path p : names.toList()) {
        Matcher m = OURS.matcher(p.getFileName().toString());
        if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) deleteQuietly(m.group());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean isRoot() {
    try {
      return Files.readAllLines(Path.of("/proc/self/status")).stream()
          .anyMatch(l -> l.startsWith("Uid:") && l.split("\\s+")[1].equals("0"));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) return true;
    }
    for (String dir : List.of("/usr/sbin", "/sbin")) if (Files.isExecutable(Path.of(dir, tool))) return true;
    return false;
  }

  /** Runs a command, bounded; fails with its output when it fails. */
  private static void run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      boolean done = p.waitFor(COMMAND_LIMIT.toSeconds(), TimeUnit.SECONDS);
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!done) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", cmd) + ": no answer within " + COMMAND_LIMIT.toSeconds() + " s");
      }
      if (p.exitValue() != 0) throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
