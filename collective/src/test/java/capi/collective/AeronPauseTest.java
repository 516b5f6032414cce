package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import capi.config.CollectiveConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process paused for longer than Aeron's own timeouts (SIGSTOP here; a long GC, a stalled VM or a
 * suspended laptop alike) rejoins the next generation of its ring; a node whose Aeron client closed
 * nevertheless starts Aeron anew, once, for all its ranks.
 */
class AeronPauseTest {
  private static final int COUNT = 100_003;
  /** Longer than Aeron's default client and driver timeouts (10 s), after which the client closed itself. */
  private static final long PAUSE_MS = 12_000;
  private static final long CHILD_BOUND_S = 90;

  @TempDir Path base;

  @Test
  void aProcessPausedLongerThanAeronsTimeoutsRejoinsTheNextGeneration() throws Exception {
    int portBase = 40931;
    CollectiveConfig cfg = PausedPeer.config(base.toString(), portBase);
    List<Endpoint> endpoints = Endpoint.local(cfg, "", 2);
    int calls = 4;
    try (CollectiveNode node = CollectiveNode.start(cfg, "parent")) {
      List<String> cmd = Ranks.javaCommand(PausedPeer.class, base.toString(), String.valueOf(portBase), String.valueOf(COUNT),
          String.valueOf(calls));
      Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      // Bounded: a hung child is killed, which ends every read of its output.
      CompletableFuture.delayedExecutor(CHILD_BOUND_S, TimeUnit.SECONDS).execute(child::destroyForcibly);
      try {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("ready", out.readLine());
        try (AllReduce group = node.join(0, 0, endpoints, COUNT)) {
          assertInstanceOf(RingAllReduce.class, group);
          for (int call = 0; call < 3; call++) MappedPeer.run(group, call, COUNT);
          signal(child, "STOP");
          long stoppedAt = System.nanoTime();
          // The child waits in call 3; this side times out on it (capi.collective.timeout).
          assertThrows(CollectiveException.class, () -> MappedPeer.run(group, 3, COUNT));
          long left = PAUSE_MS - (System.nanoTime() - stoppedAt) / 1_000_000;
          if (left > 0) Thread.sleep(left);
        }
        signal(child, "CONT");
        String failed = out.readLine();
        assertTrue(failed != null && failed.startsWith("failed generation 0"), "child said " + failed);

        float[] last = null;
        try (AllReduce group = node.join(1, 0, endpoints, COUNT)) {
          for (int call = 0; call < calls; call++) last = MappedPeer.run(group, call, COUNT);
        } catch (CollectiveException e) {
          fail("generation 1: " + e.getMessage() + "; child said " + out.readLine());
        }
        // Aeron's timeouts are raised, so the child's client stayed open: no restart was needed.
        assertEquals("result " + Arrays.hashCode(last) + " restarts 0", out.readLine(), "the child after the pause");
        assertTrue(child.waitFor(30, TimeUnit.SECONDS) && child.exitValue() == 0, "child failed");
      } finally {
        child.destroyForcibly(); // SIGKILL ends a stopped process too
        child.waitFor(10, TimeUnit.SECONDS);
      }
      assertEquals(0, node.aeronRestarts());
    }
    assertEquals(List.of(), files(), "left in the Aeron base directory");
  }

  @Test
  void aNodeWhoseAeronClientClosedStartsAeronAnewOnceForAllRanksJoining() throws Exception {
    int count = 30_000;
    CollectiveConfig cfg = Ranks.config(Ranks.transport("ipc", Map.of("timeout", "2s",
        "aeron-dir", base.toString(), "mtu", "8192",
        "term-length", "65536", "stream-id-base", "7500")));
    try (CollectiveNode node = CollectiveNode.start(cfg, "restart")) {
      List<AllReduce> old = Ranks.joinAll(node, 0, 3, count);
      AllReduceTest.check(old, count, ReduceOp.SUM, 1);
      AeronNode first = node.liveAeron(List.of());
      first.aeron().close(); // what a pause beyond Aeron's timeouts did: the client closes itself for good

      List<AllReduce> next = Ranks.joinAll(node, 1, 3, count); // concurrently: one restart, one new node
      assertEquals(1, node.aeronRestarts());
      assertTrue(first.isClosed() && !node.liveAeron(List.of()).isClosed());
      old.forEach(AllReduce::close); // the old ring closes late: it must not disturb the new node
      try {
        for (ReduceOp op : ReduceOp.values()) AllReduceTest.check(next, count, op, 2);
      } finally {
        next.forEach(AllReduce::close);
      }
      assertEquals(1, node.aeronRestarts());
      assertEquals(List.of(node.liveAeron(List.of()).directory().toString()), files(), "the old node's directory survived");
    }
    assertEquals(List.of(), files(), "left in the Aeron base directory");
  }

  private static void signal(Process p, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(p.pid())).inheritIO().start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal + " failed");
  }

  private List<String> files() throws IOException {
    try (Stream<Path> s = Files.list(base)) {
      return s.map(Path::toString).sorted().toList();
    }
  }
}
