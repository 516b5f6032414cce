package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.collective.NetworkNamespaces;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * `capi node`s on hosts of their own: Linux network namespaces joined by veth pairs (collective's
 * NetworkNamespaces), distinct addresses, a /dev/shm each, so the ranks meet in a ring as between
 * machines. One node is SIGKILLed mid-run and the others go on; a run over links that
 * drop 1% of the packets (and delay them, where the kernel has netem) computes the losses of the
 * same run without impairment. Skipped, with the reason, where namespaces cannot be made.
 */
class NamespaceClusterTest {
  @TempDir Path tmp;
  private NetworkNamespaces hosts;
  @RegisterExtension final CapiProcesses nodes = new CapiProcesses();

  @BeforeEach
  void needNamespaces() {
    Assumptions.assumeTrue(NetworkNamespaces.unavailable().isEmpty(), () -> NetworkNamespaces.unavailable().get());
  }

  @AfterEach
  void cleanUp() throws InterruptedException {
    nodes.stopAll(); // before their hosts go
    if (hosts != null) hosts.close();
  }

  /** `capi node` on host h of a cluster whose seed nodes are all hosts, one worker each. */
  private Process node(int h, Path run, String... extra) {
    List<String> seeds = new ArrayList<>();
    for (int i = 0; i < hosts.hosts(); i++) seeds.add(hosts.address(i) + ":25520");
    List<String> args = new ArrayList<>(List.of("node", "--seed-nodes", String.join(",", seeds), "--run-dir", run.toString(),
        "--workers", "1", d("cluster.min-nodes", hosts.hosts())));
    args.addAll(SmallRuns.quickCluster());
    args.addAll(SmallRuns.small());
    args.addAll(List.of(extra));
    return nodes.start("h" + h, hosts.command(h), Map.of(), args);
  }

  @Test
  @Timeout(300)
  void threeHostsOverTheRingSurviveAKilledHost() throws Exception {
    hosts = NetworkNamespaces.create(3);
    Path run = tmp.resolve("run");
    String[] options = {"--steps", "100000", "--checkpoint-every", "6", "--batch-size", "12"};
    Process h0 = node(0, run, options);
    Thread.sleep(1500);
    Process h1 = node(1, run, options);
    Process h2 = node(2, run, options);
    nodes.await("6 steps of 3 hosts", 180, () -> lastStep(run) >= 6 && "3".equals(SmallRuns.lastMetric(run, "world_size")),
        h0, h1, h2);
    assertTrue(nodes.output("h1").contains("of 3 joined generation") && nodes.output("h1").contains("(TcpRingAllReduce)"),
        nodes.output("h1"));
    assertMetricsOnlyOnTheHostAddress(1);

    h2.destroyForcibly(); // SIGKILL the youngest host's node
    long killed = System.nanoTime();
    nodes.await("steps of the 2 survivors", 60, () -> "2".equals(SmallRuns.lastMetric(run, "world_size")), h0, h1);
    System.out.println("survivors stepping " + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed) + " s after the kill");

    h0.destroy(); // SIGTERM: checkpoint and final line
    h1.destroy();
    assertTrue(h0.waitFor(60, TimeUnit.SECONDS) && h1.waitFor(60, TimeUnit.SECONDS), nodes.tails());
    assertTrue(nodes.output("h0").contains("\"event\":\"done\""), nodes.tails());
    for (String loss : SmallRuns.metric(run, "loss_capi").values()) assertTrue(Double.isFinite(Double.parseDouble(loss)));
  }

  /** The metrics endpoint binds the node's cluster address, not every interface (issue 17, item 12). */
  private void assertMetricsOnlyOnTheHostAddress(int h) throws Exception {
    Matcher m = Pattern.compile("\\{\"event\":\"metrics\",\"port\":(\\d+),").matcher(nodes.output("h" + h));
    assertTrue(m.find(), nodes.output("h" + h));
    String port = m.group(1);
    assertEquals(0, connect(h, hosts.address(h), port), "metrics on the host's address");
    assertNotEquals(0, connect(h, "127.0.0.1", port), "metrics on loopback too: it binds every interface");
  }

  /** Exit status of a TCP connect from host h to address:port (0 = connected). */
  private int connect(int h, String address, String port) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", hosts.namespace(h)));
    cmd.addAll(List.of("timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/" + address + "/" + port));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertTrue(p.waitFor(10, TimeUnit.SECONDS));
    return p.exitValue();
  }

  /** Over TCP the kernel retransmits; over Aeron udp the media driver does (its NAKs). */
  @ParameterizedTest
  @CsvSource({"tcp,TcpRingAllReduce", "aeron,RingAllReduce"})
  @Timeout(300)
  void lossyLinksComputeTheSameLosses(String ring, String implementation) throws Exception {
    String[] run = {"--steps", "8", "--checkpoint-every", "8", "--batch-size", "8", d("model.drop-path-rate", "0"),
        d("collective.ring", ring)};
    Path reference = tmp.resolve("reference");
    // The same ring (2 ranks) in one process over loopback: nothing lost, nothing delayed.
    List<String> local = new ArrayList<>(List.of("--workers", "2", d("collective.channel", "udp"), d("collective.same-host", "ring")));
    local.addAll(List.of(run));
    SmallRuns.train(reference, local.toArray(String[]::new));

    hosts = NetworkNamespaces.create(2);
    for (int h = 0; h < 2; h++) System.out.println("host " + h + ": " + hosts.impair(h, Duration.ofMillis(2), 1.0));
    Path lossy = tmp.resolve("lossy");
    Process h0 = node(0, lossy, run);
    Thread.sleep(1500);
    Process h1 = node(1, lossy, run);
    assertTrue(h0.waitFor(4, TimeUnit.MINUTES), "the run over lossy links did not finish: " + nodes.tails());
    assertEquals(0, h0.exitValue(), nodes.tails());
    assertTrue(h1.waitFor(1, TimeUnit.MINUTES), nodes.tails());
    assertTrue(nodes.output("h0").contains("(" + implementation + ")"), nodes.tails());
    assertEquals(SmallRuns.metric(reference, "loss_capi"), SmallRuns.metric(lossy, "loss_capi"), "losses over lossy links");
    assertEquals(SmallRuns.metric(reference, "loss_clustering"), SmallRuns.metric(lossy, "loss_clustering"));
  }

  private static long lastStep(Path run) {
    String s = SmallRuns.lastMetric(run, "step");
    return s.isEmpty() ? 0 : Long.parseLong(s);
  }
}
