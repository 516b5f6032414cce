package capi.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Results of the ring equal a local reference, for 1-4 ranks, awkward sizes, SUM, AVG and MAX. */
class RingAllReduceTest {
  // Small frames and terms so that moderate sizes take many chunks and hit back-pressure.
  private static final CollectiveConfig IPC = Ranks.config(Map.of(
      "capi.collective.mtu", "4096", "capi.collective.term-length", "65536", "capi.collective.timeout", "20s"));
  private static final int MAX_FLOATS = 200_000;
  private static AeronNode node;

  @BeforeAll
  static void start() {
    node = AeronNode.start(IPC, "ring-test");
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4})
  void everyOpMatchesTheLocalReferenceForAwkwardSizes(int n) throws Exception {
    Random random = new Random(n);
    List<Integer> sizes = new ArrayList<>(List.of(1, 2, 3, 5, 1021, 4096, MAX_FLOATS));
    for (int i = 0; i < 4; i++) sizes.add(1 + random.nextInt(MAX_FLOATS));
    List<RingAllReduce> ring = Ranks.joinAll(node, IPC, 0, n, MAX_FLOATS);
    try {
      for (int count : sizes) {
        for (ReduceOp op : ReduceOp.values()) check(ring, count, op, random.nextLong());
      }
    } finally {
      ring.forEach(RingAllReduce::close);
    }
  }

  @Test
  void udpRanksOnLoopbackMatchTheReference() throws Exception {
    CollectiveConfig udp = Ranks.config(Map.of(
        "capi.collective.channel", "udp", "capi.collective.udp-port-base", "40611",
        "capi.collective.mtu", "8192", "capi.collective.term-length", "131072", "capi.collective.timeout", "20s"));
    try (AeronNode udpNode = AeronNode.start(udp, "udp-test")) {
      for (int n : new int[] {2, 3}) {
        List<RingAllReduce> ring = Ranks.joinAll(udpNode, udp, 0, n, MAX_FLOATS);
        try {
          check(ring, MAX_FLOATS, ReduceOp.SUM, n);
          check(ring, 2, ReduceOp.MAX, n);
          check(ring, 77_777, ReduceOp.AVG, n);
        } finally {
          ring.forEach(RingAllReduce::close);
        }
      }
    }
  }

  /** All ranks reduce random data; each result equals the float64 reference and all are bit-identical. */
  static void check(List<RingAllReduce> ring, int count, ReduceOp op, long seed) throws Exception {
    int n = ring.size();
    float[][] inputs = new float[n][count];
    Random random = new Random(seed);
    for (float[] in : inputs) for (int i = 0; i < count; i++) in[i] = (float) random.nextGaussian();
    List<float[]> outputs = Ranks.onEach(n, rank -> {
      ByteBuffer buffer = Ranks.floats(inputs[rank]);
      ring.get(rank).allReduce(buffer, count, op);
      return Ranks.read(buffer, count);
    });
    for (int i = 0; i < count; i++) {
      double sum = 0;
      double abs = 0;
      float max = Float.NEGATIVE_INFINITY;
      for (float[] in : inputs) {
        sum += in[i];
        abs += Math.abs(in[i]);
        max = Math.max(max, in[i]);
      }
      float got = outputs.get(0)[i];
      String at = op + " n=" + n + " count=" + count + " [" + i + "]";
      switch (op) {
        case MAX -> assertEquals(max, got, 0f, at);
        case SUM -> assertEquals(sum, got, 1e-6 * abs + 1e-7, at);
        case AVG -> assertEquals(sum / n, got, (1e-6 * abs + 1e-7) / n, at);
      }
    }
    for (int r = 1; r < n; r++) assertArrayEquals(outputs.get(0), outputs.get(r), op + " rank " + r + " differs");
  }

  @Test
  void repeatedCallsAllocateNothing() throws Exception {
    int count = 50_000;
    List<RingAllReduce> ring = Ranks.joinAll(node, IPC, 0, 2, count);
    try {
      List<Long> allocated = Ranks.onEach(2, rank -> {
        ByteBuffer buffer = Ranks.floats(new float[count]);
        com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        ReduceOp[] ops = ReduceOp.values();
        for (int i = 0; i < 20; i++) ring.get(rank).allReduce(buffer, count, ops[i % 3]); // warm-up
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 100; i++) ring.get(rank).allReduce(buffer, count, ops[i % 3]);
        return threads.getCurrentThreadAllocatedBytes() - before;
      });
      for (long bytes : allocated) assertTrue(bytes < 1024, "100 all-reduces allocated " + bytes + " bytes");
    } finally {
      ring.forEach(RingAllReduce::close);
    }
  }
}
