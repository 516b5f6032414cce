package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may join a run: two nodes with certificates of the run's CA train over Artery TLS; a node
 * with a certificate of another CA cannot connect, and a node of another run (its own run
 * directory, hence run id) is refused at the join. Neither gets a worker into the ring; both end
 * with exit 1 and the reason. The CA and the certificates are made here with openssl.
 */
class ClusterAdmissionTest {
  @TempDir Path tmp;
  @RegisterExtension final CapiProcesses nodes = new CapiProcesses();


  private static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "openssl " + String.join(" ", args) + ": " + out);
  }

  /** A throwaway root CA named {@code ca}: ca.key, ca.crt. */
  private static void ca(Path dir, String ca) throws Exception {
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + ca,
        "-keyout", ca + ".key", "-out", ca + ".crt");
  }

  /** A node key and certificate signed by {@code ca}, subject capi-cluster (the name all nodes share). */
  private static void nodeCert(Path dir, String ca, String node) throws Exception {
    openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=capi-cluster", "-keyout", node + ".key",
        "-out", node + ".csr");
    Path ext = Files.writeString(dir.resolve(node + ".ext"), "subjectAltName=DNS:capi-cluster\n");
    openssl(dir, "x509", "-req", "-in", node + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key", "-CAcreateserial",
        "-days", "1", "-extfile", ext.toString(), "-out", node + ".crt");
  }

  private List<String> tls(Path certs, String ca, String node) {
    return List.of(d("cluster.tls.enabled", "true"), d("cluster.tls.key-file", certs.resolve(node + ".key")),
        d("cluster.tls.cert-file", certs.resolve(node + ".crt")), d("cluster.tls.ca-cert-file", certs.resolve(ca + ".crt")));
  }

  private static List<String> node(int port, String seeds, Path run, List<String> tls, String... extra) {
    List<String> a = new ArrayList<>(List.of("node", "--seed-nodes", seeds, "--port", Integer.toString(port),
        "--run-dir", run.toString(), "--workers", "1", "--steps", "100000", "--checkpoint-every", "50", "--batch-size", "12",
        // a node that cannot join gives up after 20 s (and says so) instead of trying for ever
        d("cluster.pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes", "20s")));
    a.addAll(tls);
    a.addAll(SmallRuns.quickCluster());
    a.addAll(SmallRuns.small());
    a.addAll(List.of(extra));
    return a;
  }

  @Test
  @Timeout(300)
  void onlyNodesOfTheRunWithTheRunsCertificatesJoin() throws Exception {
    Path certs = tmp.resolve("certs");
    Files.createDirectories(certs);
    ca(certs, "run-ca");
    ca(certs, "other-ca");
    for (String n : List.of("a", "b", "c")) nodeCert(certs, "run-ca", n);
    nodeCert(certs, "other-ca", "d");

    Path run = tmp.resolve("run");
    int pa = CapiProcesses.freePort();
    String seeds = "127.0.0.1:" + pa;
    Process a = nodes.start("a", node(pa, seeds, run, tls(certs, "run-ca", "a"), d("cluster.min-nodes", 2)));
    Thread.sleep(1500);
    Process b = nodes.start("b", node(CapiProcesses.freePort(), seeds, run, tls(certs, "run-ca", "b"), d("cluster.min-nodes", 2)));
    nodes.await("steps of 2 workers over TLS", 180, () -> "2".equals(SmallRuns.lastMetric(run, "world_size")), a, b);
    assertTrue(nodes.output("a").contains("Artery tls-tcp"), nodes.output("a"));

    // c: the run's CA, another run; d: this run, a certificate of another CA. 12 is divisible by 3:
    // a third worker admitted would make the ring 3 wide.
    Process c = nodes.start("c", node(CapiProcesses.freePort(), seeds, tmp.resolve("other-run"), tls(certs, "run-ca", "c")));
    Process d = nodes.start("d", node(CapiProcesses.freePort(), seeds, run, tls(certs, "other-ca", "d")));
    assertTrue(c.waitFor(90, TimeUnit.SECONDS), "the node of another run is still running: " + nodes.tails());
    assertTrue(d.waitFor(90, TimeUnit.SECONDS), "the node of another CA is still running: " + nodes.tails());
    assertEquals(1, c.exitValue(), nodes.output("c"));
    assertTrue(nodes.output("c").contains("the cluster refused this node: it belongs to another run"), nodes.output("c"));
    assertTrue(nodes.output("a").contains("refusing a join between runs"), nodes.output("a"));
    assertEquals(1, d.exitValue(), nodes.output("d"));
    assertTrue(nodes.output("d").contains("no seed node answered"), nodes.output("d"));
    assertTrue(a.isAlive() && b.isAlive(), nodes.tails());
    assertFalse(SmallRuns.metric(run, "world_size").containsValue("3"), "an intruder's worker entered the ring");
    assertFalse(nodes.output("a").contains("(3 workers on"), "the coordinator saw an intruder's worker: " + nodes.output("a"));

    a.destroy();
    b.destroy();
    assertTrue(a.waitFor(60, TimeUnit.SECONDS) && b.waitFor(60, TimeUnit.SECONDS), nodes.tails());
  }
}
