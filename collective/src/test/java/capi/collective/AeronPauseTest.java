package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process paused for longer than Aeron's own timeouts (SIGSTOP here; a long GC, a stalled VM or a
 * suspended laptop alike) rejoins the next generation of its ring; a node whose Aeron client closed
 * nevertheless starts Aeron anew, once, for all its ranks.
 */
class AeronPauseTest {
  @TempDir Path base;

  @Test
  void aNodeWhoseAeronClientClosedStartsAeronAnewOnceForAllRanksJoining() throws Exception {
    int count = 30_000;
    CollectiveConfig cfg = Ranks.config(Ranks.transport("ipc", Map.of("capi.collective.timeout", "2s",
        "capi.collective.aeron-dir", base.toString(), "capi.collective.mtu", "8192",
        "capi.collective.term-length", "65536", "capi.collective.stream-id-base", "7500")));
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

  private List<String> files() throws IOException {
    try (Stream<Path> s = Files.list(base)) {
      return s.map(Path::toString).sorted().toList();
    }
  }
}
