package capi.collective;

import capi.config.CollectiveConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Rank 1 of a two-process mapped group, run in a child JVM by MappedAllReduceTest. Protocol on
 * stdin/stdout: prints "token PATH" (its node's token file), reads rank 0's token file, joins, then
 * runs {@code calls} SUM and AVG calls (0 = until killed) of {@link #inputs}, checks each result
 * against the reference and prints "result HASH" of the last one. Args: aeron-dir, count, calls.
 */
public final class MappedPeer {
  private MappedPeer() {}

  /**
   * The configuration both processes use: udp with same-host shm, a small slot, a long timeout; the
   * ring over Aeron, so that its directory is there for MappedAllReduceTest's permission check.
   */
  static CollectiveConfig config(String aeronDir) {
    return Ranks.config(Map.of("channel", "udp", "same-host", "shm", "ring", "aeron",
        "aeron-dir", aeronDir, "shm-chunk-bytes", "65536", "timeout", "60s"));
  }

  /** Rank {@code rank}'s input of call {@code call}: deterministic, so each side knows the other's. */
  static float[] inputs(int rank, int call, int count) {
    Random random = new Random(31L * call + rank);
    float[] x = new float[count];
    for (int i = 0; i < count; i++) x[i] = (float) random.nextGaussian();
    return x;
  }

  /** The exact result: rank 0's value, plus rank 1's, divided by 2 for AVG (the mapped group's order). */
  static float[] reference(int call, int count, ReduceOp op) {
    float[] a = inputs(0, call, count);
    float[] b = inputs(1, call, count);
    float[] sum = new float[count];
    for (int i = 0; i < count; i++) sum[i] = op == ReduceOp.AVG ? (a[i] + b[i]) / 2f : a[i] + b[i];
    return sum;
  }

  static ReduceOp opOf(int call) {
    return call % 2 == 0 ? ReduceOp.SUM : ReduceOp.AVG;
  }

  /** Runs call {@code call} as {@code rank}; returns the result, or throws when it differs from the reference. */
  static float[] run(AllReduce group, int call, int count) {
    ByteBuffer buffer = Ranks.floats(inputs(group.rank(), call, count));
    group.allReduce(buffer, count, opOf(call));
    float[] got = Ranks.read(buffer, count);
    float[] want = reference(call, count, opOf(call));
    for (int i = 0; i < count; i++) {
      if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
        throw new AssertionError("rank " + group.rank() + " call " + call + " [" + i + "]: " + got[i] + " != " + want[i]);
      }
    }
    return got;
  }

  public static void main(String[] args) throws Exception {
    CollectiveConfig cfg = config(args[0]);
    int count = Integer.parseInt(args[1]);
    int calls = Integer.parseInt(args[2]);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try (CollectiveNode node = CollectiveNode.start(cfg, "peer")) {
      System.out.println("token " + node.token());
      System.out.flush();
      String rank0 = in.readLine();
      List<Endpoint> endpoints = List.of(Endpoint.of(cfg, cfg.udpHost(), rank0, 0),
          Endpoint.of(cfg, cfg.udpHost(), node.token(), 1));
      try (AllReduce group = node.join(0, 1, endpoints, count)) {
        float[] last = null;
        for (int call = 0; calls == 0 || call < calls; call++) last = run(group, call, count);
        System.out.println("result " + java.util.Arrays.hashCode(last));
      }
    }
    System.exit(0);
  }
}
