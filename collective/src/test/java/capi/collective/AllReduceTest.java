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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Results of every transport equal a local reference, for 1-4 ranks, awkward sizes (counts below
 * n and not divisible by n), SUM, AVG and MAX, bit-identical on all ranks.
 */
class AllReduceTest {
  private static final int MAX_FLOATS = 200_000;

  /** Small frames, terms and slots so that moderate sizes take many chunks and hit back-pressure (ipc). */
  static CollectiveConfig config(String transport) {
    return Ranks.config(Ranks.transport(transport, Map.of("mtu", "4096",
        "term-length", "65536", "timeout", "20s")));
  }

  @ParameterizedTest
  @CsvSource({"memory,1", "memory,2", "memory,3", "memory,4", "ipc,1", "ipc,2", "ipc,3", "ipc,4",
      "mapped,1", "mapped,2", "mapped,3", "mapped,4", "tcp,1", "tcp,2", "tcp,3", "tcp,4"})
  void everyOpMatchesTheLocalReferenceForAwkwardSizes(String channel, int n) throws Exception {
    Random random = new Random(n);
    List<Integer> sizes = new ArrayList<>(List.of(1, 2, 3, 5, 1021, 4096, MAX_FLOATS));
    for (int i = 0; i < 4; i++) sizes.add(1 + random.nextInt(MAX_FLOATS));
    CollectiveConfig cfg = config(channel);
    try (CollectiveNode node = CollectiveNode.start(cfg, "test-" + channel)) {
      List<AllReduce> group = Ranks.joinAll(node, 0, n, MAX_FLOATS);
      try {
        for (int count : sizes) {
          for (ReduceOp op : ReduceOp.values()) check(group, count, op, random.nextLong());
        }
      } finally {
        group.forEach(AllReduce::close);
      }
    }
  }

  /** Memory, and mapped with its default 1 MiB slots: several blocks per segment, ragged last block and chunk. */
  @ParameterizedTest
  @ValueSource(strings = {"memory", "mapped"})
  void sharedMemoryReducesBuffersLargerThanOneBlock(String transport) throws Exception {
    CollectiveConfig cfg = Ranks.config(Ranks.transport(transport, Map.of("shm-chunk-bytes", "1048576")));
    int count = 3_000_001; // several 256 KiB blocks per segment, and a ragged last one
    try (CollectiveNode node = CollectiveNode.start(cfg, "large")) {
      List<AllReduce> group = Ranks.joinAll(node, 0, 3, count);
      try {
        for (ReduceOp op : ReduceOp.values()) check(group, count, op, op.ordinal());
      } finally {
        group.forEach(AllReduce::close);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"shared", "invoker"})
  void udpRanksOnLoopbackMatchTheReference(String threadingMode) throws Exception {
    CollectiveConfig udp = Ranks.config(Map.of(
        "channel", "udp", "same-host", "ring", "ring", "aeron", "udp-port-base", "40611",
        "threading-mode", threadingMode, "mtu", "8192",
        "term-length", "131072", "timeout", "20s"));
    try (CollectiveNode udpNode = CollectiveNode.start(udp, "udp-test")) {
      for (int n : new int[] {2, 3}) {
        List<AllReduce> ring = Ranks.joinAll(udpNode, 0, n, MAX_FLOATS);
        try {
          check(ring, MAX_FLOATS, ReduceOp.SUM, n);
          check(ring, 2, ReduceOp.MAX, n);
          check(ring, 77_777, ReduceOp.AVG, n);
        } finally {
          ring.forEach(AllReduce::close);
        }
      }
    }
  }

  /** bf16 chunks over ipc, udp and tcp rings (check's bf16 case). */
  @ParameterizedTest
  @CsvSource({"ipc,2", "ipc,3", "ipc,4", "udp,2", "udp,3", "tcp,2", "tcp,3"})
  void bf16ChunksGiveEveryRankTheSameBf16ValuesNearTheReference(String transport, int n) throws Exception {
    CollectiveConfig cfg = Ranks.config(Ranks.transport(transport, Map.of("mtu", "4096", "term-length", "65536",
        "timeout", "20s", "udp-port-base", "40651")));
    try (CollectiveNode node = CollectiveNode.start(cfg, WireFormat.BF16, "bf16-" + transport)) {
      List<AllReduce> group = Ranks.joinAll(node, 0, n, MAX_FLOATS);
      try {
        for (int count : List.of(1, 3, 1021, 3 * TcpRingAllReduce.CHUNK_VALUES + 7, MAX_FLOATS)) {
          for (ReduceOp op : ReduceOp.values()) check(group, count, op, 31L * count + op.ordinal(), WireFormat.BF16);
        }
      } finally {
        group.forEach(AllReduce::close);
      }
    }
  }

  /** All ranks reduce random data; each result equals the float64 reference and all are bit-identical. */
  static void check(List<? extends AllReduce> group, int count, ReduceOp op, long seed) throws Exception {
    check(group, count, op, seed, WireFormat.FP32);
  }

  /**
   * As {@link #check(List, int, ReduceOp, long)}, within what {@code wire} loses: with bf16 each
   * rounding of a partial result errs by at most 2^-8 relatively (at most n of them), and every
   * result is a bf16 value; with two ranks exactly the ring's bits (the owner's float32 value plus
   * the peer's widened bf16, divided for AVG, rounded once).
   */
  static void check(List<? extends AllReduce> group, int count, ReduceOp op, long seed, WireFormat wire) throws Exception {
    int n = group.size();
    float[][] inputs = new float[n][count];
    Random random = new Random(seed);
    for (float[] in : inputs) for (int i = 0; i < count; i++) in[i] = (float) random.nextGaussian();
    List<float[]> outputs = Ranks.onEach(n, rank -> {
      ByteBuffer buffer = Ranks.floats(inputs[rank]);
      group.get(rank).allReduce(buffer, count, op);
      return Ranks.read(buffer, count);
    });
    boolean bf16 = wire == WireFormat.BF16;
    double relative = bf16 ? n * 0x1p-8 : 1e-6;
    double absolute = bf16 ? 1e-6 : 1e-7;
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
      String at = wire + " " + op + " n=" + n + " count=" + count + " [" + i + "]";
      switch (op) {
        case MAX -> assertEquals(max, got, bf16 ? 0x1p-8f * Math.abs(max) : 0f, at);
        case SUM -> assertEquals(sum, got, relative * abs + absolute, at);
        case AVG -> assertEquals(sum / n, got, (relative * abs + absolute) / n, at);
      }
      if (bf16) {
        assertEquals(0, Float.floatToRawIntBits(got) & 0xffff, at + ": " + got + " is not a bf16 value");
        if (n == 2 && op != ReduceOp.MAX) {
          float divisor = op == ReduceOp.AVG ? 2 : 1;
          float ownedBy0 = WireFormatTest.bf16((inputs[0][i] + WireFormatTest.bf16(inputs[1][i])) / divisor);
          float ownedBy1 = WireFormatTest.bf16((inputs[1][i] + WireFormatTest.bf16(inputs[0][i])) / divisor);
          assertTrue(got == ownedBy0 || got == ownedBy1, at + ": " + got + " is neither " + ownedBy0 + " nor " + ownedBy1);
        }
      }
    }
    for (int r = 1; r < n; r++) assertArrayEquals(outputs.get(0), outputs.get(r), wire + " " + op + " rank " + r + " differs");
  }

  @ParameterizedTest
  @CsvSource({"memory,FP32", "ipc,FP32", "ipc,BF16", "mapped,FP32", "tcp,FP32", "tcp,BF16"})
  void repeatedCallsAllocateNothing(String channel, WireFormat wire) throws Exception {
    CollectiveConfig cfg = config(channel);
    try (CollectiveNode node = CollectiveNode.start(cfg, wire, "alloc-" + channel)) {
      List<AllReduce> group = Ranks.joinAll(node, 0, 2, 50_000);
      try {
        for (long bytes : Ranks.allocatedPerRank(group, 50_000)) {
          assertTrue(bytes < 1024, "100 all-reduces allocated " + bytes + " bytes");
        }
      } finally {
        group.forEach(AllReduce::close);
      }
    }
  }
}
