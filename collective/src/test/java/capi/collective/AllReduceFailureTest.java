package capi.collective;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig;
import io.aeron.ExclusivePublication;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A vanished peer becomes a CollectiveException within the timeout, naming it; an interrupt ends a
 * call at once; survivors re-form the group. For shared memory, the mapped file (ranks as threads of
 * this JVM: the protocol does not care) and the ring (over ipc; udp where only udp can fail so).
 */
class AllReduceFailureTest {
  private static final long TIMEOUT_MS = 1000;
  private static final CollectiveConfig CFG = config("ipc", TIMEOUT_MS + "ms");

  private static CollectiveConfig config(String transport, String timeout) {
    return Ranks.config(Ranks.transport(transport, Map.of("timeout", timeout,
        "mtu", "8192", "term-length", "65536", "stream-id-base", "7300")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"memory", "ipc", "mapped"})
  void aSilentPeerFailsTheCallWithinTheTimeoutNamingIt(String channel) throws Exception {
    CollectiveConfig cfg = config(channel, TIMEOUT_MS + "ms");
    try (CollectiveNode node = CollectiveNode.start(cfg, "silent-peer")) {
      List<AllReduce> ring = Ranks.joinAll(node, 0, 2, 1000);
      try {
        ByteBuffer buffer = Ranks.floats(new float[1000]);
        long start = System.nanoTime();
        // Rank 1 joined but never calls allReduce.
        CollectiveException e = assertThrows(CollectiveException.class,
            () -> ring.get(0).allReduce(buffer, 1000, ReduceOp.SUM));
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(e.getMessage().contains("rank 1"), e.getMessage());
        assertTrue(elapsedMs >= TIMEOUT_MS && elapsedMs < 5 * TIMEOUT_MS, "failed after " + elapsedMs + " ms");
        CollectiveException again = assertThrows(CollectiveException.class,
            () -> ring.get(0).allReduce(buffer, 1000, ReduceOp.SUM));
        assertTrue(again.getMessage().contains("broken"), again.getMessage());
      } finally {
        ring.forEach(AllReduce::close);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"memory", "mapped"})
  void sharedMemoryRanksThatPassDifferentCountsFailBoth(String transport) throws Exception {
    CollectiveConfig cfg = config(transport, "60s");
    try (CollectiveNode node = CollectiveNode.start(cfg, "mismatch")) {
      List<AllReduce> group = Ranks.joinAll(node, 0, 2, 1000);
      try {
        List<String> errors = Ranks.onEach(2, rank -> assertThrows(CollectiveException.class,
            () -> group.get(rank).allReduce(Ranks.floats(new float[1000]), 999 + rank, ReduceOp.SUM)).getMessage());
        assertTrue(errors.get(0).contains("rank 1 passed 1000 floats"), errors.get(0));
        assertTrue(errors.get(1).contains("rank 0 passed 999 floats"), errors.get(1));
      } finally {
        group.forEach(AllReduce::close);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"memory", "ipc", "mapped"})
  void interruptingAWaitingRankEndsTheCallBeforeTheTimeout(String channel) throws Exception {
    CollectiveConfig patient = config(channel, "60s");
    try (CollectiveNode node = CollectiveNode.start(patient, "interrupt")) {
      List<AllReduce> ring = Ranks.joinAll(node, 0, 2, 1000);
      try {
        Thread caller = Thread.currentThread();
        Thread interrupter = new Thread(() -> {
          LockSupport.parkNanos(200_000_000L);
          caller.interrupt();
        });
        interrupter.start();
        long start = System.nanoTime();
        CollectiveException e = assertThrows(CollectiveException.class,
            () -> ring.get(0).allReduce(Ranks.floats(new float[1000]), 1000, ReduceOp.SUM));
        assertTrue(Thread.interrupted(), "the interrupt flag stays set");
        assertTrue(e.getMessage().contains("interrupted"), e.getMessage());
        assertTrue(System.nanoTime() - start < 30_000_000_000L, "ended only near the 60 s timeout");
        interrupter.join();
      } finally {
        ring.forEach(AllReduce::close);
      }
    }
  }

  @Test
  void aPortThatIsTakenFailsTheJoinNamingTheEndpoint() throws Exception {
    CollectiveConfig udp = Ranks.config(Map.of("channel", "udp", "udp-port-base", "40711",
        "timeout", "2s"));
    try (AeronNode node = AeronNode.start(udp, "taken");
        java.net.DatagramSocket squatter = new java.net.DatagramSocket(40711, java.net.InetAddress.getLoopbackAddress())) {
      CollectiveException e = assertThrows(CollectiveException.class,
          () -> RingAllReduce.join(node, udp, WireFormat.FP32, 0, 0, Endpoint.local(udp, "", 2), 10));
      assertTrue(e.getMessage().contains("127.0.0.1:40711"), e.getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"shared", "invoker"})
  void aPeerWhoseProcessEndsRightAfterTheLastCallStillDeliversIt(String threadingMode) throws Exception {
    CollectiveConfig udp = Ranks.config(Map.of("channel", "udp", "udp-port-base", "40721",
        "threading-mode", threadingMode, "timeout", "5s"));
    int count = 4_000_000;
    List<Endpoint> endpoints = Endpoint.local(udp, "", 2);
    // Without close() waiting for the driver to send, this failed in about 1 of 20 attempts here.
    for (int attempt = 0; attempt < 3; attempt++) {
      int generation = attempt;
      try (AeronNode a = AeronNode.start(udp, "stays"); AeronNode b = AeronNode.start(udp, "leaves")) {
        List<AeronNode> nodes = List.of(a, b); // one media driver per rank, as in two processes
        Ranks.onEach(2, rank -> {
          RingAllReduce ring = RingAllReduce.join(nodes.get(rank), udp, WireFormat.FP32, generation, rank, endpoints, count);
          ByteBuffer buffer = Ranks.floats(new float[count]);
          ring.allReduce(buffer, count, ReduceOp.SUM);
          ring.close();
          if (rank == 1) nodes.get(1).close(); // its process exits
          return null;
        });
      }
    }
  }

  @Test
  void ranksWithDifferentWireFormatsFailNamingIt() throws Exception {
    try (AeronNode node = AeronNode.start(CFG, "formats")) {
      List<Endpoint> endpoints = Endpoint.local(CFG, "", 2);
      WireFormat[] formats = {WireFormat.FP32, WireFormat.BF16};
      List<RingAllReduce> ring = Ranks.onEach(2, rank -> RingAllReduce.join(node, CFG, formats[rank], 0, rank, endpoints, 1000));
      try {
        List<String> errors = Ranks.onEach(2, rank -> assertThrows(CollectiveException.class,
            () -> ring.get(rank).allReduce(Ranks.floats(new float[1000]), 1000, ReduceOp.SUM)).getMessage());
        assertTrue(errors.stream().anyMatch(m -> m.contains("wire format") && m.contains("every rank must use one")), errors.toString());
      } finally {
        ring.forEach(RingAllReduce::close);
      }
    }
  }

  @Test
  void chunksOfAnOldGenerationAreDropped() throws Exception {
    int count = 1000;
    try (AeronNode node = AeronNode.start(CFG, "stale")) {
      List<RingAllReduce> ring = Ranks.joinRing(node, CFG, WireFormat.FP32, 5, 2, count);
      // A sender of generation 4 that never left: one chunk for call 1, step 0 of rank 0's segment.
      try (ExclusivePublication old = node.aeron().addExclusivePublication(
          RingChannels.publication(CFG, Endpoint.IPC), RingChannels.streamId(CFG, 0))) {
        UnsafeBuffer chunk = new UnsafeBuffer(new byte[ChunkHeader.LENGTH + 10 * Float.BYTES]);
        chunk.putInt(ChunkHeader.GENERATION, 4);
        chunk.putInt(ChunkHeader.CALL, 1);
        chunk.putShort(ChunkHeader.STEP, (short) 0);
        chunk.putShort(ChunkHeader.FORMAT, (short) WireFormat.FP32.ordinal());
        chunk.putInt(ChunkHeader.FIRST, count / 2);
        for (int i = 0; i < 10; i++) chunk.putFloat(ChunkHeader.LENGTH + i * Float.BYTES, 1e9f);
        while (old.offer(chunk) < 0) Thread.onSpinWait(); // bounded by the surefire fork timeout
        AllReduceTest.check(ring, count, ReduceOp.SUM, 3);
      } finally {
        ring.forEach(RingAllReduce::close);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"memory", "ipc", "mapped"})
  void aJoinWithoutTheNeighbourFailsNamingIt(String channel) throws Exception {
    CollectiveConfig cfg = config(channel, TIMEOUT_MS + "ms");
    try (CollectiveNode node = CollectiveNode.start(cfg, "lonely")) {
      CollectiveException e = assertThrows(CollectiveException.class,
          () -> node.join(0, 0, Endpoint.local(node, 2), 10));
      assertTrue(e.getMessage().contains("rank 1") && e.getMessage().contains("did not join"), e.getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"memory", "ipc", "mapped"})
  void survivorsOfAClosedRankReformTheGroup(String channel) throws Exception {
    int count = 30_000;
    CollectiveConfig cfg = config(channel, TIMEOUT_MS + "ms");
    try (CollectiveNode node = CollectiveNode.start(cfg, "reform")) {
      List<AllReduce> three = Ranks.joinAll(node, 0, 3, count);
      AllReduceTest.check(three, count, ReduceOp.SUM, 1);
      three.get(2).close(); // rank 2 goes away
      List<String> errors = Ranks.onEach(2, rank -> {
        ByteBuffer buffer = Ranks.floats(new float[count]);
        return assertThrows(CollectiveException.class,
            () -> three.get(rank).allReduce(buffer, count, ReduceOp.SUM)).getMessage();
      });
      assertTrue(errors.get(0).contains("rank 2"), errors.get(0)); // its left neighbour was rank 2
      three.get(0).close();
      three.get(1).close();

      List<AllReduce> two = Ranks.joinAll(node, 1, 2, count);
      try {
        for (ReduceOp op : ReduceOp.values()) AllReduceTest.check(two, count, op, 2);
      } finally {
        two.forEach(AllReduce::close);
      }
    }
  }
}
