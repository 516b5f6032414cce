package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Losing any node of a `capi node` cluster, the oldest (the coordinator's and the first seed)
 * included: the survivors go on from the last checkpoint within a minute, a restarted node rejoins
 * the running cluster, and a node that waits for peers ends at once on SIGTERM.
 */
class ClusterFailoverTest {
  @TempDir Path tmp;
  @RegisterExtension final CapiProcesses nodes = new CapiProcesses();


  /** `capi node` arguments: one worker, a long run ended by the test, a checkpoint every 4 steps. */
  private static List<String> node(int port, String seeds, Path run, String... extra) {
    List<String> a = new ArrayList<>(List.of("node", "--seed-nodes", seeds, "--port", Integer.toString(port),
        "--run-dir", run.toString(), "--workers", "1", "--steps", "100000", "--checkpoint-every", "8", "--batch-size", "16"));
    a.addAll(SmallRuns.quickCluster());
    a.addAll(SmallRuns.small());
    a.addAll(List.of(extra));
    return a;
  }

  /** The cluster ports of the nodes a, b, c, ... of a test. */
  private int[] ports;

  /**
   * Nodes a, b, ... ({@code n}), each a seed node (a restarted node finds the cluster through any live
   * one), starting with {@code n} nodes; a first, so that it forms the cluster and is the oldest
   * node (the coordinator's).
   */
  private Process[] cluster(Path run, int n) throws InterruptedException {
    ports = new int[n];
    for (int i = 0; i < n; i++) ports[i] = CapiProcesses.freePort();
    Process[] started = new Process[n];
    for (int i = 0; i < n; i++) {
      started[i] = nodes.start(String.valueOf((char) ('a' + i)), node(i, run));
      if (i == 0) Thread.sleep(1500);
    }
    return started;
  }

  /** Node i of {@link #cluster}: its port, all nodes as seeds, min-nodes = the cluster's size. */
  private List<String> node(int i, Path run) {
    List<String> seeds = new ArrayList<>();
    for (int p : ports) seeds.add("127.0.0.1:" + p);
    return node(ports[i], String.join(",", seeds), run, d("cluster.min-nodes", ports.length));
  }

  /** The world size of the newest step logged, "" before any. */
  private static String lastWorld(Path run) {
    return SmallRuns.lastMetric(run, "world_size");
  }

  private static long lastStep(Path run) {
    String s = SmallRuns.lastMetric(run, "step");
    return s.isEmpty() ? 0 : Long.parseLong(s);
  }

  @Test
  @Timeout(300)
  void theOldestOfTwoDiesTheSurvivorGoesOnAndTheRestartedNodeRejoins() throws Exception {
    Path run = tmp.resolve("run");
    Process[] started = cluster(run, 2);
    Process a = started[0];
    Process b = started[1];
    nodes.await("6 steps of 2 workers", 180, () -> lastStep(run) >= 6 && "2".equals(lastWorld(run)), a, b);

    a.destroyForcibly(); // SIGKILL the oldest node and first seed
    long killed = System.nanoTime();
    nodes.await("a step of the survivor", 60, () -> "1".equals(lastWorld(run)), b);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
    assertTrue(seconds < 60, "the survivor went on after " + seconds + " s");
    System.out.println("oldest of 2 killed: the survivor stepped " + seconds + " s later");

    Process a2 = nodes.start("a2", node(0, run));
    nodes.await("the restarted node back in the ring", 120, () -> "2".equals(lastWorld(run)), b, a2);

    b.destroy(); // SIGTERM the coordinator's node: checkpoint, final line, and the other node is stopped
    assertTrue(b.waitFor(60, TimeUnit.SECONDS), "b did not end after SIGTERM");
    assertTrue(a2.waitFor(60, TimeUnit.SECONDS), "the restarted node did not end with the run");
    assertEquals(0, a2.exitValue(), nodes.tails());
    String log = nodes.output("b");
    assertTrue(log.contains("SBR acquired lease"), log);
    assertTrue(log.contains("\"event\":\"done\""), log);
    assertTrue(nodes.output("a2").contains("Welcome from"), "the restarted seed joined b's cluster: " + nodes.output("a2"));
    for (String loss : SmallRuns.metric(run, "loss_capi").values()) assertTrue(Double.isFinite(Double.parseDouble(loss)));
  }

  @Test
  @Timeout(300)
  void theOldestOfThreeDiesAndTwoGoOnAlthoughMinNodesIsThree() throws Exception {
    Path run = tmp.resolve("run");
    Process[] started = cluster(run, 3);
    Process a = started[0];
    Process b = started[1];
    Process c = started[2];
    // 16 is not divisible by 3: the ring of 3 nodes has 2 workers (the coordinator's node first) and the third waits.
    nodes.await("10 steps", 240, () -> lastStep(run) >= 10, a, b, c);

    a.destroyForcibly(); // the coordinator moves to the oldest survivor, b or c (they joined at the same time)
    long killed = System.nanoTime();
    long stepBefore = lastStep(run);
    nodes.await("steps after the oldest died", 60, () -> lastStep(run) > stepBefore
        && (nodes.output("b").contains("starts at step 8") || nodes.output("c").contains("starts at step 8")), b, c);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
    assertTrue(seconds < 60, "the survivors went on after " + seconds + " s");
    System.out.println("oldest of 3 killed: the survivors passed the last step logged " + seconds + " s later");
    assertEquals("2", lastWorld(run), "both survivors in the ring");

    b.destroy(); // SIGTERM both, as a scheduler's pre-emption does
    c.destroy();
    assertTrue(b.waitFor(60, TimeUnit.SECONDS) && c.waitFor(60, TimeUnit.SECONDS), "the survivors did not end after SIGTERM");
    assertTrue((nodes.output("b") + nodes.output("c")).contains("\"event\":\"done\""), nodes.tails());
  }

  @Test
  @Timeout(120)
  void aNodeWaitingForPeersEndsAtOnceOnSigterm() throws Exception {
    Path run = tmp.resolve("run");
    int pa = CapiProcesses.freePort();
    Process a = nodes.start("a", node(pa, "127.0.0.1:" + pa, run, d("cluster.min-nodes", 2)));
    nodes.await("the node waiting for a peer", 90, () -> nodes.output("a").contains("waiting for 2 workers on 2 nodes"), a);
    a.destroy();
    long signalled = System.nanoTime();
    assertTrue(a.waitFor(20, TimeUnit.SECONDS), "a waiting node took more than 20 s to end after SIGTERM");
    String log = nodes.output("a");
    assertTrue(a.exitValue() != 0, log); // the JVM's 143 for SIGTERM, or 1
    assertTrue(log.contains("stopped by a signal before this node trained"), log);
    System.out.println("waiting node ended " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled) + " ms after SIGTERM");
  }
}
