package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A real Pekko cluster of two JVMs on one host (`capi node`), ranks meeting in a mapped file or, as
 * between hosts, in a ring (over TCP, or over Aeron udp). One node is killed with SIGKILL mid-run:
 * the coordinator re-forms the ring with the survivor, which reloads the last checkpoint and
 * finishes the run.
 */
class MultiNodeTest {
  @TempDir Path tmp;
  @RegisterExtension final CapiProcesses nodes = new CapiProcesses();


  /** A `capi node` JVM of a two-node cluster whose seed node listens on {@code seedPort}. */
  private Process node(String name, int port, int seedPort, Path runDir, String... extra) {
    List<String> args = new ArrayList<>(List.of("node", "--seed-nodes", "127.0.0.1:" + seedPort,
        "--port", Integer.toString(port), "--run-dir", runDir.toString(), d("cluster.min-nodes", "2")));
    args.addAll(SmallRuns.quickCluster());
    args.addAll(SmallRuns.small());
    args.addAll(List.of(extra));
    return nodes.start(name, args);
  }

  @ParameterizedTest
  @CsvSource({"shm,tcp", "ring,tcp", "ring,aeron"})
  @Timeout(420)
  void survivesTheLossOfANode(String sameHost, String ring) throws Exception {
    Path run = tmp.resolve("run");
    int seedPort = CapiProcesses.freePort();
    String[] options = {"--workers", "1", "--steps", "16", "--checkpoint-every", "4", "--batch-size", "8",
        d("collective.same-host", sameHost), d("collective.ring", ring)};
    Process a = node("a", seedPort, seedPort, run, options);
    Thread.sleep(1500); // let the seed node form the cluster first: it becomes the oldest (the coordinator's)
    Process b = node("b", CapiProcesses.freePort(), seedPort, run, options);

    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
    while (SmallRuns.stepsLogged(run) < 6) {
      assertTrue(a.isAlive() && b.isAlive(), "a node ended early; see " + tmp);
      assertTrue(System.nanoTime() < deadline, "no progress; see " + tmp);
      Thread.sleep(50);
    }
    b.destroyForcibly(); // SIGKILL: no goodbye to the cluster
    assertTrue(a.waitFor(4, TimeUnit.MINUTES), "the surviving node did not finish");
    String log = nodes.output("a");
    assertEquals(0, a.exitValue(), log);
    assertTrue(log.contains("\"event\":\"done\",\"steps\":16"), log);
    assertTrue(log.contains("recovering"), log);
    // The killed node is never asked to join again. In the mapped file the survivor sees its process
    // die and the coordinator leaves its node out at once; the ring's timeout comes after the failure
    // detector marked it unreachable, so the coordinator leaves it out as unreachable; a kill between
    // all-reduces ends with it downed.
    assertFalse(log.contains("could not join ring"), log);
    String implementation = sameHost.equals("shm") ? "(MappedAllReduce)" : ring.equals("tcp") ? "(TcpRingAllReduce)" : "(RingAllReduce)";
    assertTrue(log.contains("of 2 joined generation") && log.contains(implementation), log);

    Map<Long, String> world = SmallRuns.metric(run, "world_size");
    assertEquals(16, world.size(), "every step logged once");
    assertEquals("2", world.get(1L));
    assertEquals("1", world.get(16L));
    for (String loss : SmallRuns.metric(run, "loss_capi").values()) assertTrue(Double.isFinite(Double.parseDouble(loss)));
  }

  /**
   * Two nodes standing for two hosts (udp addresses 127.0.0.1 and 127.0.0.2), two workers each: the
   * ranks all-reduce hierarchically (a mapped file per host, a ring of the two leaders), and the
   * run computes the losses of one worker given the same global batch (drop path 0).
   */
  @Test
  @Timeout(300)
  void twoHostsWithTwoWorkersEachGoHierarchicalAndMatchOneWorker() throws Exception {
    Path run = tmp.resolve("hosts");
    int seedPort = CapiProcesses.freePort();
    String[] options = {"--workers", "2", "--steps", "4", "--checkpoint-every", "4", "--batch-size", "8",
        d("model.drop-path-rate", "0")};
    Process a = node("a", seedPort, seedPort, run, append(options, d("collective.udp-host", "127.0.0.1")));
    Thread.sleep(1500);
    Process b = node("b", CapiProcesses.freePort(), seedPort, run, append(options, d("collective.udp-host", "127.0.0.2")));
    assertTrue(a.waitFor(4, TimeUnit.MINUTES), "the run did not finish; see " + tmp);
    String log = nodes.output("a");
    assertEquals(0, a.exitValue(), log);
    assertTrue(b.waitFor(1, TimeUnit.MINUTES), "node b did not end after the run");
    assertTrue(log.contains("rank 0 of 4 joined generation") && log.contains("(HierarchicalAllReduce)"), log);

    Path single = tmp.resolve("single");
    SmallRuns.train(single, "--workers", "1", "--steps", "4", "--batch-size", "8", d("model.drop-path-rate", "0"));
    SmallRuns.assertSameLosses(single, run, "of 2 hosts x 2 workers");
  }

  private static String[] append(String[] options, String more) {
    String[] out = Arrays.copyOf(options, options.length + 1);
    out[options.length] = more;
    return out;
  }
}
