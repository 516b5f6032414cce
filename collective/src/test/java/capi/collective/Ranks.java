package capi.collective;

import static org.junit.jupiter.api.Assertions.fail;

import capi.config.CapiConfig;
import capi.config.CollectiveConfig;
import capi.config.Overrides;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Test helpers: ranks of one JVM run concurrently, each on its own thread, with a time bound. */
final class Ranks {
  interface RankBody<T> {
    T run(int rank) throws Exception;
  }

  private static final long BOUND_SECONDS = 120;

  private Ranks() {}

  /** The collective section with {@code overrides} (keys relative to capi.collective, e.g. "mtu"). */
  static CollectiveConfig config(Map<String, String> overrides) {
    Overrides o = Overrides.none();
    overrides.forEach((key, value) -> o.set("collective." + key, value));
    return CapiConfig.load(null, o).collective();
  }

  /**
   * The overrides that select a transport: a channel (memory, ipc), "mapped" (udp ranks of one host
   * meet in a mapped file, with 4 KiB slots so that moderate sizes take many rounds), "udp" (the
   * ring over Aeron udp, same-host detection off) or "tcp" (the ring over TCP between udp endpoints,
   * same-host detection off), plus {@code more}.
   */
  static Map<String, String> transport(String name, Map<String, String> more) {
    Map<String, String> o = new HashMap<>(more);
    switch (name) {
      case "mapped" -> o.putAll(Map.of("channel", "udp", "same-host", "shm",
          "shm-chunk-bytes", "4096"));
      case "udp" -> o.putAll(Map.of("channel", "udp", "same-host", "ring", "ring", "aeron"));
      case "tcp" -> o.putAll(Map.of("channel", "udp", "same-host", "ring", "ring", "tcp"));
      default -> o.put("channel", name);
    }
    return o;
  }

  /** Runs body(0..n-1) on n threads at once; returns their results or rethrows the first failure. */
  static <T> List<T> onEach(int n, RankBody<T> body) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<T>> futures = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        int rank = r;
        futures.add(pool.submit(() -> body.run(rank)));
      }
      List<T> results = new ArrayList<>();
      Exception failure = null; // the first rank's failure, with the others' attached
      for (Future<T> f : futures) {
        try {
          results.add(f.get(BOUND_SECONDS, TimeUnit.SECONDS));
        } catch (ExecutionException e) {
          Exception cause = e.getCause() instanceof Exception c ? c : e;
          if (failure == null) failure = cause; else failure.addSuppressed(cause);
        } catch (TimeoutException e) {
          return fail("ranks did not finish within " + BOUND_SECONDS + " s");
        }
      }
      if (failure != null) throw failure;
      return results;
    } finally {
      pool.shutdownNow();
    }
  }

  /** n ranks of this JVM join a group of the node's transport: shared memory, a mapped file or a ring. */
  static List<AllReduce> joinAll(CollectiveNode node, int generation, int n, int maxFloats) throws Exception {
    List<Endpoint> endpoints = Endpoint.local(node, n);
    return onEach(n, rank -> node.join(generation, rank, endpoints, maxFloats));
  }

  static List<RingAllReduce> joinRing(AeronNode node, CollectiveConfig cfg, WireFormat wire, int generation, int n,
      int maxFloats) throws Exception {
    List<Endpoint> endpoints = Endpoint.local(cfg, "", n);
    return onEach(n, rank -> RingAllReduce.join(node, cfg, wire, generation, rank, endpoints, maxFloats));
  }

  /**
   * Bytes each rank's thread allocated in 100 calls of {@code count} floats after 20 warm-up calls:
   * the least of ten such windows (every rank makes the same calls). An allocation per call shows in
   * every window; a rare one by the Aeron media driver, whose duty cycle a waiting rank runs
   * (threading-mode invoker), in one at most; the bf16 wire format's Vector API loops allocate until
   * C2 has compiled them, which on two busy cores took more than three windows once.
   */
  static List<Long> allocatedPerRank(List<? extends AllReduce> group, int count) throws Exception {
    return onEach(group.size(), rank -> {
      ByteBuffer buffer = floats(new float[count]);
      com.sun.management.ThreadMXBean threads =
          (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
      ReduceOp[] ops = ReduceOp.values();
      for (int i = 0; i < 20; i++) group.get(rank).allReduce(buffer, count, ops[i % 3]); // warm-up
      long least = Long.MAX_VALUE;
      for (int window = 0; window < 10; window++) {
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 100; i++) group.get(rank).allReduce(buffer, count, ops[i % 3]);
        least = Math.min(least, threads.getCurrentThreadAllocatedBytes() - before);
      }
      return least;
    });
  }

  /** The command of a child JVM running {@code main} on this test's class path, with the options the collective needs. */
  static List<String> javaCommand(Class<?> main, String... args) {
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx256m",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
        "-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  static ByteBuffer floats(float[] values) {
    ByteBuffer b = ByteBuffer.allocateDirect(values.length * Float.BYTES).order(ByteOrder.nativeOrder());
    b.asFloatBuffer().put(values);
    return b;
  }

  static float[] read(ByteBuffer b, int count) {
    float[] out = new float[count];
    b.asFloatBuffer().get(out);
    return out;
  }
}
