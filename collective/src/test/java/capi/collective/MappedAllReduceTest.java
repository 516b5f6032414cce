package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ranks in two processes meet in a mapped file (rank 1 is a child JVM: MappedPeer); a peer killed
 * mid-protocol fails the survivor's call at once; stale files are swept; and the choice between
 * the mapped file and the ring follows the token files. The protocol with ranks as threads runs in
 * AllReduceTest and AllReduceFailureTest ("mapped").
 */
class MappedAllReduceTest {
  private static final int COUNT = 100_003; // several 64 KiB slots, ragged last chunk

  @TempDir Path base;

  /** A child JVM as rank 1, having exchanged token files with this process (rank 0). */
  private record Child(Process process, BufferedReader out, List<Endpoint> endpoints) {}

  private Child startChild(CollectiveConfig cfg, CollectiveNode node, int calls) throws IOException {
    List<String> cmd = Ranks.javaCommand(MappedPeer.class, base.toString(), String.valueOf(COUNT), String.valueOf(calls));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    assertTrue(line != null && line.startsWith("token "), "child said " + line);
    PrintStream in = new PrintStream(p.getOutputStream(), true, StandardCharsets.UTF_8);
    in.println(node.token());
    List<Endpoint> endpoints = List.of(Endpoint.of(cfg, cfg.udpHost(), node.token(), 0),
        Endpoint.of(cfg, cfg.udpHost(), line.substring("token ".length()), 1));
    return new Child(p, out, endpoints);
  }

  @Test
  void twoProcessesGetTheReferenceBitForBit() throws Exception {
    CollectiveConfig cfg = MappedPeer.config(base.toString());
    int calls = 6;
    try (CollectiveNode node = CollectiveNode.start(cfg, "parent")) {
      Child child = startChild(cfg, node, calls);
      try {
        float[] last = null;
        try (AllReduce group = node.join(0, 0, child.endpoints(), COUNT)) {
          assertInstanceOf(MappedAllReduce.class, group);
          for (int call = 0; call < calls; call++) last = MappedPeer.run(group, call, COUNT);
          assertOwnerOnly();
        }
        assertEquals("result " + Arrays.hashCode(last), child.out().readLine(), "the child's last result");
        assertTrue(child.process().waitFor(60, TimeUnit.SECONDS) && child.process().exitValue() == 0, "child failed");
      } finally {
        child.process().destroyForcibly();
      }
      assertEquals(List.of(node.token()), files("capi-"), "only this node's token file is left");
    }
    assertEquals(List.of(), files("capi-"), "files left after close");
  }

  /** Token files, the group's file (gradients pass through it) and Aeron directories: the owner's alone. */
  private void assertOwnerOnly() throws IOException {
    List<String> seen = new ArrayList<>();
    try (var files = Files.list(base)) {
      for (Path f : files.filter(f -> f.getFileName().toString().startsWith("capi-")).toList()) {
        String expected = Files.isDirectory(f) ? "rwx------" : "rw-------";
        assertEquals(expected, PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
        seen.add(f.getFileName().toString().replaceAll("\\d.*", ""));
      }
    }
    assertTrue(seen.containsAll(List.of("capi-node-", MappedGroup.PREFIX, "capi-aeron-")), "checked: " + seen);
  }

  @Test
  void aPeerKilledMidProtocolFailsTheCallAtOnceNamingItAndItsFilesAreSwept() throws Exception {
    CollectiveConfig cfg = MappedPeer.config(base.toString()); // 60 s timeout
    try (CollectiveNode node = CollectiveNode.start(cfg, "survivor")) {
      Child child = startChild(cfg, node, 0); // all-reduces until killed
      long killedAt;
      CollectiveException e;
      try (AllReduce group = node.join(0, 0, child.endpoints(), COUNT)) {
        for (int call = 0; call < 3; call++) MappedPeer.run(group, call, COUNT);
        child.process().destroyForcibly(); // SIGKILL
        killedAt = System.nanoTime();
        e = assertThrows(CollectiveException.class, () -> {
          for (int call = 3; ; call++) MappedPeer.run(group, call, COUNT);
        });
      }
      long ms = (System.nanoTime() - killedAt) / 1_000_000;
      long pid = child.process().pid();
      assertTrue(e.getMessage().contains("rank 1 (pid " + pid + ") died"), e.getMessage());
      assertEquals(1, e.deadRank(), "the coordinator leaves the dead rank's node out of the next ring");
      assertTrue(ms < 5_000, "failed " + ms + " ms after the kill (timeout 60 s)");
      assertTrue(child.process().waitFor(10, TimeUnit.SECONDS));
      List<String> left = files("capi-");
      assertEquals(2, left.size(), "this node's token and the killed child's: " + left);
      assertTrue(left.stream().noneMatch(f -> f.contains(MappedGroup.PREFIX)), "the group file survived close: " + left);

      try (CollectiveNode next = CollectiveNode.start(cfg, "next")) {
        assertEquals(List.of(node.token(), next.token()).stream().sorted().toList(), files("capi-"),
            "the killed child's token file survived the sweep");
      }
    }
  }

  @Test
  void filesOfDeadProcessesAreSweptOnStartAndTheTokenFileGoesOnClose() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Path deadToken = Files.writeString(base.resolve(NodeToken.PREFIX + gone.pid() + "-00000000000000aa"), "00000000000000aa");
    Path deadGroup = Files.writeString(base.resolve(MappedGroup.PREFIX + gone.pid() + "-00000000000000aa-3"), "x");
    Path liveGroup = Files.writeString(base.resolve(MappedGroup.PREFIX + ProcessHandle.current().pid() + "-ab-1"), "x");
    Path foreign = Files.writeString(base.resolve("capi-node-not-a-pid"), "x");
    CollectiveConfig cfg = MappedPeer.config(base.toString());
    Path own;
    try (CollectiveNode node = CollectiveNode.start(cfg, "sweeper")) {
      own = Path.of(node.token());
      assertTrue(Files.exists(own) && own.getParent().equals(base), own.toString());
      assertFalse(Files.exists(deadToken) || Files.exists(deadGroup), "files of a dead process survived");
      assertTrue(Files.exists(liveGroup) && Files.exists(foreign));
    }
    assertFalse(Files.exists(own), "the token file survived close");
  }

  @Test
  void theMappedFileNeedsEveryRanksTokenValidHereElseTheRingRuns() throws Exception {
    CollectiveConfig cfg = Ranks.config(Map.of("channel", "udp", "aeron-dir", base.toString(),
        "udp-port-base", "40811", "timeout", "20s"));
    try (CollectiveNode node = CollectiveNode.start(cfg, "select")) {
      String own = node.token();
      assertInstanceOf(AllReducePlan.MappedFile.class, planHere(Endpoint.local(node, 2)), "own token twice");

      String pid = String.valueOf(ProcessHandle.current().pid());
      Path wrong = Files.writeString(base.resolve(NodeToken.PREFIX + pid + "-00000000000000bb"), "00000000000000cc");
      Path elsewhere = base.resolve(NodeToken.PREFIX + pid + "-00000000000000dd"); // another host's /dev/shm
      Process gone = new ProcessBuilder("true").start();
      gone.waitFor();
      Path dead = Files.writeString(base.resolve(NodeToken.PREFIX + gone.pid() + "-00000000000000ee"), "00000000000000ee");
      for (String other : new String[] {wrong.toString(), elsewhere.toString(), dead.toString(), ""}) {
        List<Endpoint> endpoints = List.of(Endpoint.of(cfg, "127.0.0.1", own, 0), Endpoint.of(cfg, "127.0.0.1", other, 1));
        assertInstanceOf(AllReducePlan.Ring.class, planHere(endpoints), "chose the mapped file with rank 1's token " + other);
      }

      // A join with a token that does not match forms the ring (capi.collective.ring: tcp), and it works.
      List<Endpoint> mixed = List.of(Endpoint.of(cfg, "127.0.0.1", own, 0), Endpoint.of(cfg, "127.0.0.1", wrong.toString(), 1));
      List<AllReduce> ring = Ranks.onEach(2, rank -> node.join(0, rank, mixed, 1000));
      try {
        ring.forEach(g -> assertInstanceOf(TcpRingAllReduce.class, g));
        AllReduceTest.check(ring, 1000, ReduceOp.SUM, 7);
      } finally {
        ring.forEach(AllReduce::close);
      }
    }
    CollectiveConfig forced = Ranks.config(Map.of("channel", "udp", "same-host", "ring",
        "aeron-dir", base.toString()));
    try (CollectiveNode node = CollectiveNode.start(forced, "forced")) {
      assertEquals("", node.token(), "same-host = ring writes no token");
    }
  }

  /** The plan of a group with these endpoints on this host, with same-host = shm. */
  private static AllReducePlan planHere(List<Endpoint> endpoints) {
    return AllReducePlan.choose(endpoints, true, NodeToken::find);
  }

  private List<String> files(String prefix) throws IOException {
    List<String> found = new ArrayList<>();
    try (Stream<Path> s = Files.list(base)) {
      s.filter(p -> p.getFileName().toString().startsWith(prefix) && !p.getFileName().toString().startsWith("capi-aeron-"))
          .forEach(p -> found.add(p.toString()));
    }
    found.sort(null);
    return found;
  }
}
