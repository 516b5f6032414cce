package capi.cli;

import capi.collective.AllReduce;
import capi.collective.CollectiveNode;
import capi.collective.Endpoint;
import capi.collective.HierarchicalAllReduce;
import capi.collective.MappedAllReduce;
import capi.collective.ReduceOp;
import capi.collective.TcpRingAllReduce;
import capi.collective.WireFormat;
import capi.config.CapiConfig;
import capi.config.CollectiveConfig;
import capi.config.CollectiveConfig.Channel;
import capi.config.CollectiveConfig.SameHost;
import capi.config.Overrides;
import capi.monitoring.JsonLine;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * `capi bench --what allreduce`: all-reduce bandwidth of K workers through shared memory (ranks in
 * this JVM, the default channel), the Aeron ring over IPC (ranks in this JVM), the ring between udp
 * endpoints on 127.0.0.1 (over TCP, or Aeron as capi.collective.ring says) with the ranks in this JVM,
 * and with one JVM per rank both through the mapped file (capi.collective.same-host, default shm)
 * and over that ring (same-host = ring); with 3 or more
 * workers also hierarchically, the ranks split between two hosts simulated on loopback (127.0.0.1
 * and 127.0.0.2: one machine's cores and memory, so it shows the cost of the three phases, not the
 * network traffic they save); and this machine's single-thread memcpy bandwidth as the yardstick.
 * busbw = 2(n-1)/n · bytes / time, the median time of a call. {@code --wire bf16} makes every ring send bf16 (WireFormat).
 *
 * <p>With {@code --hosts A0,A1,... --rank R} the process is rank R of a ring between udp endpoints
 * whose rank r receives at Ar (port udp-port-base + r; same-host = ring, no token files): start it once per host
 * (or network namespace) within capi.collective.timeout of each other, e.g. with
 * scripts/allreduce-netns (two namespaces joined by a veth pair). Every rank prints its own time; busbw counts the float32 bytes either
 * way, so bf16's row shows what the user's gradients get.
 */
final class AllReduceBench {
  private static final long MIB = 1 << 20;
  /** Untimed calls first: the codec's vector loops run slowly until the JIT has compiled them. */
  private static final int WARMUP = 20;
  /** A node without a same-host token file, on the children's stdin and stdout. */
  private static final String NO_TOKEN = "-";

  private AllReduceBench() {}

  static int run(BenchCommand options) throws Exception {
    int workers = options.workers == null ? 2 : options.workers;
    long[] sizes = options.bytes == null ? new long[] {MIB, 4 * MIB, 16 * MIB, 64 * MIB} : new long[] {options.bytes};
    for (long b : sizes) {
      if (b < Float.BYTES || b > Integer.MAX_VALUE || b % Float.BYTES != 0) {
        System.err.println("capi: --bytes " + b + ": must be a multiple of 4 in [4, " + Integer.MAX_VALUE + "]");
        return Main.EXIT_BAD_INPUT;
      }
    }
    if (workers < 1) {
      System.err.println("capi: --workers " + workers + ": must be >= 1");
      return Main.EXIT_BAD_INPUT;
    }
    WireFormat wire = wireFormat(options.wire);
    if (wire == null) {
      System.err.println("capi: --wire " + options.wire + ": must be fp32 or bf16");
      return Main.EXIT_BAD_INPUT;
    }
    int steps = options.steps == null ? 0 : options.steps;
    if (options.hosts != null || options.rank != null) return betweenHosts(options, wire, sizes, steps);
    long largest = sizes[sizes.length - 1];
    double memcpy = memcpyBytesPerSecond(largest);
    System.out.printf(Locale.ROOT, "memcpy (one thread)  bytes=%d  %.2f GB/s%n", largest, memcpy / 1e9);

    Overrides udp = channel(options, Channel.UDP);
    Overrides udpRing = channel(options, Channel.UDP).sameHost(SameHost.RING);
    double[] memoryTimes = inThisJvm(collective(options, channel(options, Channel.MEMORY)), wire, workers, sizes, steps);
    report("memory", workers, sizes, memoryTimes);
    double[] ipcTimes = inThisJvm(collective(options, channel(options, Channel.IPC)), wire, workers, sizes, steps);
    report("ipc", workers, sizes, ipcTimes);
    CollectiveConfig udpRingConfig = collective(options, udpRing);
    String ring = udpRingConfig.ring().name().toLowerCase(Locale.ROOT); // what the udp rows run over
    double[] udpTimes = inThisJvm(udpRingConfig, wire, workers, sizes, steps);
    report(ring + " ring on loopback", workers, sizes, udpTimes);
    double[] shmProcessTimes = inProcesses(options, udp, wire, 1, workers, sizes, steps);
    double[] udpProcessTimes = inProcesses(options, udpRing, wire, 1, workers, sizes, steps);
    double[] hierarchicalTimes = workers < 3 ? null : inProcesses(options, udp, wire, 2, workers, sizes, steps);

    int last = sizes.length - 1;
    double busbw = busbw(workers, largest, memoryTimes[last]);
    JsonLine line = JsonLine.event("bench").add("what", "allreduce").add("workers", workers).add("bytes", largest)
        .add("wire", wire.name().toLowerCase(Locale.ROOT)).add("transport", "memory")
        .add("ring", ring)
        .add("busbw_bytes_per_s", busbw, "%.0f").add("algbw_bytes_per_s", largest / memoryTimes[last], "%.0f")
        .add("seconds", memoryTimes[last], "%.6f").add("memcpy_bytes_per_s", memcpy, "%.0f")
        .add("busbw_over_memcpy", busbw / memcpy, "%.3f")
        .add("ipc_busbw_bytes_per_s", busbw(workers, largest, ipcTimes[last]), "%.0f")
        .add("udp_busbw_bytes_per_s", busbw(workers, largest, udpTimes[last]), "%.0f")
        .add("udp_processes_busbw_bytes_per_s", busbw(workers, largest, udpProcessTimes[last]), "%.0f")
        .add("shm_processes_busbw_bytes_per_s", busbw(workers, largest, shmProcessTimes[last]), "%.0f");
    if (hierarchicalTimes != null) {
      line.add("hierarchical_2_hosts_busbw_bytes_per_s", busbw(workers, largest, hierarchicalTimes[last]), "%.0f");
    }
    options.finish(line);
    return Main.EXIT_OK;
  }

  /**
   * A peer rank of the "1 JVM per rank" rows, started by {@link #inProcesses} (startPeer) with the
   * bench's own JVM options and class path. The child protocol:
   * <ul>
   *   <li>arguments: rank, simulated hosts (1 = all on udp-host; H = ranks split in rank order over
   *       127.0.0.1 .. 127.0.0.H), world size, timed calls per size (0 = about 512 MiB), sizes in
   *       bytes (comma separated), wire format (FP32 | BF16), config file or "-", then the
   *       configuration overrides as -DKEY=VALUE;
   *   <li>stdout, one line: its node's same-host token file, or "-" for none;
   *   <li>stdin, one line: every rank's token file (or "-") in rank order, separated by spaces;
   *       rank 0 writes it once it has read every child's line;
   *   <li>then the child joins generation 0 with those endpoints, runs the same calls as rank 0,
   *       and exits with 0 (anything else, or a stack trace on stderr, is a failure).
   * </ul>
   */
  public static void main(String[] args) throws Exception {
    int rank = Integer.parseInt(args[0]);
    int hosts = Integer.parseInt(args[1]);
    int workers = Integer.parseInt(args[2]);
    int steps = Integer.parseInt(args[3]);
    long[] sizes = Arrays.stream(args[4].split(",")).mapToLong(Long::parseLong).toArray();
    WireFormat wire = WireFormat.valueOf(args[5]);
    Path file = args[6].equals("-") ? null : Path.of(args[6]);
    Map<String, String> overrides = new LinkedHashMap<>();
    for (int i = 7; i < args.length; i++) {
      String[] kv = args[i].substring("-D".length()).split("=", 2);
      overrides.put(kv[0], kv[1]);
    }
    CollectiveConfig cfg = CapiConfig.load(file, Overrides.commandLine(overrides)).collective();
    try (CollectiveNode node = CollectiveNode.start(cfg, wire, "bench-rank-" + rank)) {
      System.out.println(node.token().isEmpty() ? NO_TOKEN : node.token());
      System.out.flush();
      String tokens = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      List<Endpoint> endpoints = endpoints(cfg, hosts, Arrays.asList(tokens.split(" ")));
      try (AllReduce ring = node.join(0, rank, endpoints, maxFloats(sizes))) {
        timeRank(ring, sizes, steps, null);
      }
    }
    System.exit(0);
  }

  private static Overrides channel(BenchCommand options, Channel channel) {
    return options.common.dashD().channel(channel);
  }

  private static CollectiveConfig collective(BenchCommand options, Overrides overrides) {
    return options.common.load(overrides.and(Overrides.none().preset(options.preset))).collective();
  }

  /** Seconds per all-reduce for each size: all ranks in this JVM, one thread each; the slowest rank counts. */
  private static double[] inThisJvm(CollectiveConfig cfg, WireFormat wire, int workers, long[] sizes, int steps)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try (CollectiveNode node = CollectiveNode.start(cfg, wire, "bench")) {
      List<Endpoint> endpoints = Endpoint.local(node, workers);
      List<Future<double[]>> ranks = new ArrayList<>();
      for (int r = 0; r < workers; r++) {
        int rank = r;
        ranks.add(pool.submit(() -> {
          try (AllReduce ring = node.join(0, rank, endpoints, maxFloats(sizes))) {
            return timeRank(ring, sizes, steps, null);
          }
        }));
      }
      double[] slowest = new double[sizes.length];
      for (Future<double[]> f : ranks) {
        double[] t = f.get();
        for (int i = 0; i < t.length; i++) slowest[i] = Math.max(slowest[i], t[i]);
      }
      return slowest;
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Rank 0 here, ranks 1..K-1 in child JVMs with their own collective nodes, split between
   * {@code hosts} simulated hosts (endpoints); rank 0's times, reported under the implementation
   * rank 0 got (mapped file, hierarchical or ring). The ranks' endpoints name their nodes'
   * same-host token files: each child prints its own, and reads every rank's on stdin (the
   * protocol: {@link #main}).
   */
  private static double[] inProcesses(BenchCommand options, Overrides overrides, WireFormat wire, int hosts, int workers,
      long[] sizes, int steps) throws Exception {
    List<Process> peers = new ArrayList<>();
    try {
      for (int r = 1; r < workers; r++) peers.add(startPeer(options, overrides, wire, r, hosts, workers, steps, sizes));
      CollectiveConfig cfg = collective(options, overrides);
      double[] times;
      try (CollectiveNode node = CollectiveNode.start(cfg, wire, "bench-rank-0")) {
        List<String> tokens = new ArrayList<>(List.of(node.token().isEmpty() ? NO_TOKEN : node.token()));
        for (Process p : peers) {
          tokens.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine());
        }
        for (Process p : peers) {
          p.getOutputStream().write((String.join(" ", tokens) + "\n").getBytes(StandardCharsets.UTF_8));
          p.getOutputStream().flush();
        }
        try (AllReduce ring = node.join(0, 0, endpoints(cfg, hosts, tokens), maxFloats(sizes))) {
          times = timeRank(ring, sizes, steps, null);
          String transport = ring instanceof HierarchicalAllReduce ? "hierarchical, " + hosts + " hosts"
              : ring instanceof MappedAllReduce ? "mapped" : ring instanceof TcpRingAllReduce ? "tcp ring" : "aeron udp ring";
          report(transport + ", 1 JVM per rank", workers, sizes, times);
        }
      }
      for (Process p : peers) {
        if (p.waitFor() != 0) throw new IllegalStateException("all-reduce peer process exited with " + p.exitValue());
      }
      return times;
    } finally {
      peers.forEach(Process::destroy);
    }
  }

  private static Process startPeer(BenchCommand options, Overrides overrides, WireFormat wire, int rank, int hosts,
      int workers, int steps, long[] sizes) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), AllReduceBench.class.getName()));
    cmd.addAll(List.of(String.valueOf(rank), String.valueOf(hosts), String.valueOf(workers), String.valueOf(steps)));
    cmd.add(String.join(",", Arrays.stream(sizes).mapToObj(Long::toString).toList()));
    cmd.add(wire.name());
    cmd.add(options.common.configFile == null ? "-" : options.common.configFile.toString());
    cmd.addAll(overrides.toArgs());
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }

  /**
   * The endpoints of ranks on this machine, one per same-host token file (NO_TOKEN: none): all on
   * udp-host, or with several hosts the ranks split in rank order between 127.0.0.1, 127.0.0.2, ...
   * (loopback addresses that stand for hosts).
   */
  private static List<Endpoint> endpoints(CollectiveConfig cfg, int hosts, List<String> tokens) {
    List<Endpoint> endpoints = new ArrayList<>();
    int n = tokens.size();
    for (int r = 0; r < n; r++) {
      String host = hosts == 1 ? cfg.udpHost() : "127.0.0." + (1 + r * hosts / n);
      endpoints.add(Endpoint.of(cfg, host, tokens.get(r).equals(NO_TOKEN) ? "" : tokens.get(r), r));
    }
    return endpoints;
  }

  /**
   * --hosts: this process is rank --rank of a ring between the given addresses (the ring, not
   * the mapped file: no token files); prints its times, the CPU time the process spent per call,
   * and a JSON line.
   */
  private static int betweenHosts(BenchCommand options, WireFormat wire, long[] sizes, int steps) throws Exception {
    List<String> hosts = options.hosts == null ? List.of() : options.hosts;
    int n = hosts.size();
    if (n < 2 || options.rank == null || options.rank < 0 || options.rank >= n) {
      System.err.println("capi: --hosts needs two or more addresses and --rank in [0, " + n + ")");
      return Main.EXIT_BAD_INPUT;
    }
    int rank = options.rank;
    CollectiveConfig cfg = collective(options, channel(options, Channel.UDP).sameHost(SameHost.RING).udpHost(hosts.get(rank)));
    List<Endpoint> endpoints = new ArrayList<>();
    for (int r = 0; r < n; r++) endpoints.add(Endpoint.of(cfg, hosts.get(r), "", r));
    try (CollectiveNode node = CollectiveNode.start(cfg, wire, "bench-rank-" + rank);
        AllReduce ring = node.join(0, rank, endpoints, maxFloats(sizes))) {
      double[] cpu = new double[sizes.length];
      double[] times = timeRank(ring, sizes, steps, cpu);
      report(cfg.ring().name().toLowerCase(Locale.ROOT) + " ring between hosts, rank " + rank, n, sizes, times);
      int last = sizes.length - 1;
      options.finish(JsonLine.event("bench").add("what", "allreduce").add("transport", "udp_hosts")
          .add("hosts", String.join(",", hosts)).add("rank", rank).add("workers", n).add("bytes", sizes[last])
          .add("wire", wire.name().toLowerCase(Locale.ROOT)).add("ring", cfg.ring().name().toLowerCase(Locale.ROOT))
          .add("mtu", cfg.mtu()).add("link_mtu", linkMtu(hosts.get(rank)))
          .add("busbw_bytes_per_s", busbw(n, sizes[last], times[last]), "%.0f").add("seconds", times[last], "%.6f")
          .add("process_cpu_seconds_per_call", cpu[last], "%.6f"));
    }
    return Main.EXIT_OK;
  }

  /** The MTU of the interface that has this address, or -1. */
  private static int linkMtu(String address) {
    try {
      java.net.NetworkInterface nic = java.net.NetworkInterface.getByInetAddress(java.net.InetAddress.getByName(address));
      return nic == null ? -1 : nic.getMTU();
    } catch (java.io.IOException e) {
      return -1;
    }
  }

  private static WireFormat wireFormat(String name) {
    for (WireFormat w : WireFormat.values()) if (w.name().equalsIgnoreCase(name)) return w;
    return null;
  }

  /**
   * One rank's loop: per size, warm-up calls then timed calls of SUM (steps, 0 = about 512 MiB, at
   * least 3); the median seconds of a timed call (as torch.distributed benches report), and (when {@code cpuSecondsPerCall} is not null) the CPU time this
   * process spent per timed call.
   */
  private static double[] timeRank(AllReduce ring, long[] sizes, int steps, double[] cpuSecondsPerCall) {
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    ByteBuffer buffer = ByteBuffer.allocateDirect(maxFloats(sizes) * Float.BYTES).order(ByteOrder.nativeOrder());
    double[] seconds = new double[sizes.length];
    for (int i = 0; i < sizes.length; i++) {
      int count = (int) (sizes[i] / Float.BYTES);
      for (int w = 0; w < WARMUP; w++) ring.allReduce(buffer, count, ReduceOp.SUM);
      long cpuStart = os.getProcessCpuTime();
      long[] callNs = new long[calls(sizes[i], steps)];
      for (int s = 0; s < callNs.length; s++) {
        long start = System.nanoTime();
        ring.allReduce(buffer, count, ReduceOp.SUM);
        callNs[s] = System.nanoTime() - start;
      }
      Arrays.sort(callNs);
      seconds[i] = callNs[callNs.length / 2] / 1e9;
      if (cpuSecondsPerCall != null) cpuSecondsPerCall[i] = (os.getProcessCpuTime() - cpuStart) / 1e9 / callNs.length;
    }
    return seconds;
  }

  /** Timed calls of one size: {@code steps}, or (0) about 512 MiB in all and at least 3. */
  private static int calls(long bytes, int steps) {
    return steps > 0 ? steps : (int) Math.max(3, 512 * MIB / bytes);
  }

  /** Bytes per second of one thread copying between two direct buffers (Unsafe.copyMemory). */
  private static double memcpyBytesPerSecond(long bytes) {
    UnsafeBuffer from = new UnsafeBuffer(ByteBuffer.allocateDirect((int) bytes));
    UnsafeBuffer to = new UnsafeBuffer(ByteBuffer.allocateDirect((int) bytes));
    int reps = (int) Math.max(5, 1024 * MIB / bytes);
    for (int i = 0; i < 2; i++) to.putBytes(0, from, 0, (int) bytes);
    long start = System.nanoTime();
    for (int i = 0; i < reps; i++) to.putBytes(0, from, 0, (int) bytes);
    return bytes * (double) reps / ((System.nanoTime() - start) / 1e9);
  }

  private static void report(String transport, int workers, long[] sizes, double[] seconds) {
    for (int i = 0; i < sizes.length; i++) {
      System.out.printf(Locale.ROOT, "allreduce %-37s workers=%d bytes=%-9d %9.3f ms  algbw %6.2f GB/s  busbw %6.2f GB/s%n",
          transport, workers, sizes[i], seconds[i] * 1e3, sizes[i] / seconds[i] / 1e9,
          busbw(workers, sizes[i], seconds[i]) / 1e9);
    }
  }

  private static double busbw(int workers, long bytes, double seconds) {
    return 2.0 * (workers - 1) / workers * bytes / seconds;
  }

  private static int maxFloats(long[] sizes) {
    return (int) (Arrays.stream(sizes).max().orElse(0) / Float.BYTES);
  }
}
