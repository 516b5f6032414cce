package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hosts simulated on loopback: host i has the address 127.0.0.(i+1) (all of 127.0.0.0/8 is
 * loopback on Linux), and every rank has a CollectiveNode of its own, as a process would. Results
 * equal the reference on every rank bit for bit; the join picks HierarchicalAllReduce only for
 * several hosts with several ranks on some; failures reach every rank within the timeout.
 */
class HierarchicalAllReduceTest {
  private static final int MAX_FLOATS = 100_000;
  private static final String PORT_BASE = "40931";

  /** The nodes of a layout such as "2+1" (ranks per host, hosts in rank order) and their ranks' endpoints. */
  private record Cluster(List<CollectiveNode> nodes, List<Endpoint> endpoints) implements AutoCloseable {
    static Cluster start(String layout, IntFunction<String> timeoutOfRank, String sameHost) {
      return start(layout, timeoutOfRank, sameHost, "tcp");
    }

    /** Ranks on 127.0.0.1, 127.0.0.2, ... as the layout says; ring: what carries the leaders' ring (aeron, tcp). */
    static Cluster start(String layout, IntFunction<String> timeoutOfRank, String sameHost, String ring) {
      List<CollectiveNode> nodes = new ArrayList<>();
      List<Endpoint> endpoints = new ArrayList<>();
      try {
        int[] perHost = Arrays.stream(layout.split("\\+")).mapToInt(Integer::parseInt).toArray();
        for (int h = 0; h < perHost.length; h++) {
          for (int i = 0; i < perHost[h]; i++) {
            int rank = nodes.size();
            CollectiveConfig cfg = config("127.0.0." + (h + 1), timeoutOfRank.apply(rank), sameHost, ring);
            CollectiveNode node = CollectiveNode.start(cfg, "host" + h + "-rank" + rank);
            nodes.add(node);
            endpoints.add(Endpoint.of(cfg, cfg.udpHost(), node.token(), rank));
          }
        }
        return new Cluster(nodes, endpoints);
      } catch (RuntimeException e) {
        nodes.forEach(CollectiveNode::close);
        throw e;
      }
    }

    static Cluster start(String layout) {
      return start(layout, rank -> "20s", "shm");
    }

    List<AllReduce> joinAll() throws Exception {
      return Ranks.onEach(nodes.size(), rank -> nodes.get(rank).join(0, rank, endpoints, MAX_FLOATS));
    }

    @Override
    public void close() {
      nodes.forEach(CollectiveNode::close);
    }
  }

  /** Small slots and frames, so that moderate sizes take many rounds and chunks. */
  private static CollectiveConfig config(String host, String timeout, String sameHost, String ring) {
    return Ranks.config(Map.of("channel", "udp", "same-host", sameHost, "ring", ring,
        "udp-host", host, "udp-port-base", PORT_BASE,
        "shm-chunk-bytes", "4096", "mtu", "4096", "term-length", "65536",
        "timeout", timeout));
  }

  @ParameterizedTest
  @CsvSource({"2+2,tcp", "3+1,tcp", "1+2+1,tcp", "2+2,aeron", "1+2+1,aeron"})
  void everyOpMatchesTheReferenceBitIdenticalOnEveryRank(String layout, String ring) throws Exception {
    Random random = new Random(layout.hashCode());
    List<Integer> sizes = new ArrayList<>(List.of(1, 2, 3, 5, 1021, 4097, MAX_FLOATS));
    for (int i = 0; i < 2; i++) sizes.add(1 + random.nextInt(MAX_FLOATS));
    try (Cluster cluster = Cluster.start(layout, rank -> "20s", "shm", ring)) {
      List<AllReduce> group = cluster.joinAll();
      try {
        for (int r = 0; r < group.size(); r++) {
          assertInstanceOf(HierarchicalAllReduce.class, group.get(r));
          assertEquals(r, group.get(r).rank());
          assertEquals(4, group.get(r).worldSize());
        }
        for (int count : sizes) {
          for (ReduceOp op : ReduceOp.values()) AllReduceTest.check(group, count, op, random.nextLong());
        }
      } finally {
        group.forEach(AllReduce::close);
      }
    }
  }

  @Test
  void repeatedCallsAllocateNothing() throws Exception {
    try (Cluster cluster = Cluster.start("2+1")) {
      List<AllReduce> group = cluster.joinAll();
      try {
        for (long bytes : Ranks.allocatedPerRank(group, 50_000)) {
          assertTrue(bytes < 1024, "100 all-reduces allocated " + bytes + " bytes");
        }
      } finally {
        group.forEach(AllReduce::close);
      }
    }
  }

  /** Before hierarchical all-reduce, groups like these got the mapped file or the flat ring; they still do. */
  @Test
  void groupsWithoutSeveralRanksOnSeveralHostsKeepTheirImplementation() throws Exception {
    try (Cluster oneHost = Cluster.start("2"); Cluster onePerHost = Cluster.start("1+1")) {
      for (Cluster c : List.of(oneHost, onePerHost)) { // every token is valid here
        assertPicksAndComputes(MappedAllReduce.class, c.joinAll(), ReduceOp.SUM, 1);
      }
      // A token that is not valid here (its host's /dev/shm): the ring, as between real hosts.
      List<Endpoint> elsewhere = List.of(onePerHost.endpoints().get(0), withToken(onePerHost.endpoints().get(1),
          "/nonexistent/" + NodeToken.PREFIX + ProcessHandle.current().pid() + "-00000000000000dd"));
      assertPicksAndComputes(TcpRingAllReduce.class,
          Ranks.onEach(2, rank -> onePerHost.nodes().get(rank).join(1, rank, elsewhere, 1000)), ReduceOp.SUM, 2);
    }
    try (Cluster forcedRing = Cluster.start("2+2", rank -> "20s", "ring")) {
      assertPicksAndComputes(TcpRingAllReduce.class, forcedRing.joinAll(), ReduceOp.AVG, 3);
    }
  }

  /** The same udp address with another token file. */
  private static Endpoint withToken(Endpoint endpoint, String token) {
    Endpoint.Udp udp = (Endpoint.Udp) endpoint;
    return new Endpoint.Udp(udp.host(), udp.port(), token);
  }

  /** Every rank of {@code group} got {@code implementation} and a call of 1000 floats is right; closes it. */
  private static void assertPicksAndComputes(
      Class<? extends AllReduce> implementation, List<AllReduce> group, ReduceOp op, long seed) throws Exception {
    try {
      group.forEach(g -> assertInstanceOf(implementation, g));
      AllReduceTest.check(group, 1000, op, seed);
    } finally {
      group.forEach(AllReduce::close);
    }
  }

  @Test
  void aRankOfThisHostWhoseTokenIsNotValidHereFailsTheJoinNamingTheFix() throws Exception {
    try (Cluster cluster = Cluster.start("2+2")) {
      List<Endpoint> endpoints = new ArrayList<>(cluster.endpoints());
      String file = "/nonexistent/" + NodeToken.PREFIX + ProcessHandle.current().pid() + "-00000000000000dd";
      endpoints.set(1, withToken(endpoints.get(1), file)); // a container's own /dev/shm
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> cluster.nodes().get(0).join(0, 0, endpoints, 10));
      assertTrue(e.getMessage().contains("rank 1 (127.0.0.1:40932)") && e.getMessage().contains(file)
          && e.getMessage().contains("same-host=ring"), e.getMessage());
    }
  }

  /**
   * Host B's leader leaves after two calls: its host's rank fails at once, host A's leader after
   * the ring's timeout (1 s), and host A's other rank at once after its leader, long before its own
   * 20 s timeout.
   */
  @Test
  void aLeaderThatLeavesFailsEveryRankWithinTheTimeout() throws Exception {
    int count = 30_000;
    try (Cluster cluster = Cluster.start("2+2", rank -> rank == 1 ? "20s" : "1s", "shm")) {
      List<AllReduce> group = cluster.joinAll();
      try {
        AllReduceTest.check(group, count, ReduceOp.SUM, 1);
        AllReduceTest.check(group, count, ReduceOp.AVG, 2);
        group.get(2).close();
        long start = System.nanoTime();
        List<CollectiveException> errors = Ranks.onEach(4, rank -> rank == 2 ? null : assertThrows(CollectiveException.class,
            () -> group.get(rank).allReduce(Ranks.floats(new float[count]), count, ReduceOp.SUM)));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(ms < 5_000, "the last rank failed after " + ms + " ms");
        assertTrue(errors.get(3).getMessage().contains("rank 0 left the group"), errors.get(3).getMessage());
        assertTrue(errors.get(0).getMessage().contains("no data from rank 1"), errors.get(0).getMessage());
        assertTrue(errors.get(1).getMessage().contains("rank 0 failed in its all-reduce between hosts"),
            errors.get(1).getMessage());
        for (int r : new int[] {0, 1, 3}) assertEquals(-1, errors.get(r).deadRank(), "rank " + r + ": nobody died");
        CollectiveException again = assertThrows(CollectiveException.class,
            () -> group.get(0).allReduce(Ranks.floats(new float[count]), count, ReduceOp.SUM));
        assertTrue(again.getMessage().contains("broken"), again.getMessage());
      } finally {
        group.forEach(AllReduce::close);
      }
    }
  }

  /**
   * Rank 3's endpoint names the token file of another process (a sleep), which dies after the
   * join: its host's leader, rank 2, reports it dead by its global rank (local rank 1).
   */
  @Test
  void aDeadRankIsReportedByItsGlobalRank() throws Exception {
    int count = 30_000;
    Process other = new ProcessBuilder("sleep", "60").start();
    try (Cluster cluster = Cluster.start("2+1", rank -> "1s", "shm")) {
      String hex = "00000000000000ab";
      java.nio.file.Path token = java.nio.file.Path.of(cluster.nodes().get(2).token())
          .resolveSibling(NodeToken.PREFIX + other.pid() + "-" + hex);
      java.nio.file.Files.writeString(token, hex);
      try {
        List<Endpoint> endpoints = new ArrayList<>(cluster.endpoints());
        endpoints.add(Endpoint.of(cluster.nodes().get(2).config(), "127.0.0.2", token.toString(), 3));
        List<AllReduce> group = Ranks.onEach(4, rank -> cluster.nodes().get(Math.min(rank, 2)).join(0, rank, endpoints, count));
        try {
          assertInstanceOf(HierarchicalAllReduce.class, group.get(3));
          other.destroyForcibly();
          assertTrue(other.waitFor(10, TimeUnit.SECONDS)); // reaped: an unreaped process still runs
          List<CollectiveException> errors = Ranks.onEach(3, rank -> assertThrows(CollectiveException.class,
              () -> group.get(rank).allReduce(Ranks.floats(new float[count]), count, ReduceOp.SUM)));
          assertTrue(errors.get(2).getMessage().contains("rank 1 (pid " + other.pid() + ") died"), errors.get(2).getMessage());
          assertEquals(3, errors.get(2).deadRank(), errors.get(2).getMessage());
          assertEquals(-1, errors.get(0).deadRank(), "rank 0 only saw silence");
        } finally {
          group.forEach(AllReduce::close);
        }
      } finally {
        java.nio.file.Files.deleteIfExists(token);
      }
    } finally {
      other.destroyForcibly();
    }
  }

  /** Host B never comes: host A's leader fails its ring join after 1 s, and its other rank at once after it. */
  @Test
  void aJoinWithoutTheOtherHostFailsEveryRankOfThisHost() throws Exception {
    try (Cluster hostA = Cluster.start("2", rank -> rank == 0 ? "1s" : "20s", "shm")) {
      List<Endpoint> endpoints = new ArrayList<>(hostA.endpoints());
      for (int r = 2; r < 4; r++) {
        endpoints.add(new Endpoint.Udp("127.0.0.2", Integer.parseInt(PORT_BASE) + r, "/elsewhere/" + NodeToken.PREFIX + "1-00000000000000ee"));
      }
      long start = System.nanoTime();
      List<String> errors = Ranks.onEach(2, rank -> assertThrows(CollectiveException.class,
          () -> hostA.nodes().get(rank).join(0, rank, endpoints, 10)).getMessage());
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertTrue(ms < 5_000, "failed after " + ms + " ms");
      assertTrue(errors.get(0).contains("did not join"), errors.get(0));
      assertTrue(errors.get(1).contains("rank 0 failed in its all-reduce between hosts"), errors.get(1));
      assertFalse(errors.get(1).contains("did not arrive"), errors.get(1));
    }
  }
}
