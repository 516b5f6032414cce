package capi.cli;

import static capi.cli.SmallRuns.d;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two `capi node`s form their cluster without a seed list, from what their launcher tells them:
 * Slurm's variables, torchrun-style variables, or Kubernetes-style Cluster Bootstrap (with Pekko's
 * config discovery standing for the Kubernetes API); each cluster trains a short run to the end.
 */
class ClusterDiscoveryTest {
  @TempDir Path tmp;
  @RegisterExtension final CapiProcesses nodes = new CapiProcesses();


  /** `capi node` with no --seed-nodes: a 4-step run of one worker per node. */
  private static List<String> node(Path run, String... extra) {
    List<String> a = new ArrayList<>(List.of("node", "--run-dir", run.toString(), "--workers", "1", "--steps", "4",
        "--checkpoint-every", "4", "--batch-size", "8"));
    a.addAll(SmallRuns.quickCluster());
    a.addAll(SmallRuns.small());
    a.addAll(List.of(extra));
    return a;
  }

  /**
   * Starts node 0 and node 1 as {@code launcher} would, with that launcher's environment and options
   * for each; both end with exit 0, the run has its 4 steps of 2 workers, and each node said how it
   * was launched.
   */
  private void trainsWithTwoNodes(String launcher, Path run, IntFunction<Map<String, String>> env,
      IntFunction<String[]> options) throws Exception {
    Process[] both = new Process[2];
    for (int i = 0; i < 2; i++) both[i] = nodes.start(launcher + i, List.of(), env.apply(i), node(run, options.apply(i)));
    for (Process p : both) assertTrue(p.waitFor(4, TimeUnit.MINUTES), "the run did not finish: " + nodes.tails());
    for (Process p : both) assertEquals(0, p.exitValue(), nodes.tails());
    assertEquals(Map.of(1L, "2", 2L, "2", 3L, "2", 4L, "2"), SmallRuns.metric(run, "world_size"));
    for (int i = 0; i < 2; i++) assertTrue(nodes.output(launcher + i).contains("capi node: " + launcher + ","), nodes.tails());
  }

  @Test
  @Timeout(300)
  void slurm() throws Exception {
    String port = d("cluster.port", CapiProcesses.freePort());
    // srun --ntasks-per-node=1 on two hosts, here 127.0.0.1 and 127.0.0.2 (one cluster port for both)
    trainsWithTwoNodes("slurm", tmp.resolve("slurm"),
        i -> Map.of("SLURM_JOB_NODELIST", "127.0.0.[1-2]", "SLURM_NNODES", "2", "SLURM_NTASKS", "2",
            "SLURM_NODEID", Integer.toString(i), "SLURM_PROCID", Integer.toString(i), "SLURMD_NODENAME", "127.0.0." + (i + 1)),
        i -> new String[] {port});
  }

  @Test
  @Timeout(300)
  void torchrunStyleVariables() throws Exception {
    String masterPort = Integer.toString(CapiProcesses.freePort());
    // Rank 1 would take the address that routes to MASTER_ADDR, 127.0.0.1 itself on one machine: it
    // gets an address of its own, as a second host would have.
    trainsWithTwoNodes("torchrun", tmp.resolve("torchrun"),
        i -> Map.of("MASTER_ADDR", "127.0.0.1", "MASTER_PORT", masterPort, "WORLD_SIZE", "2", "RANK", Integer.toString(i),
            "LOCAL_WORLD_SIZE", "1"),
        i -> i == 0 ? new String[0] : new String[] {d("cluster.host", "127.0.0.2")});
  }

  @Test
  @Timeout(300)
  void kubernetesStyleClusterBootstrap() throws Exception {
    int[] management = {CapiProcesses.freePort(), CapiProcesses.freePort()};
    // Pekko's config discovery lists the contact points the Kubernetes API would (pods of app=capi).
    Path conf = Files.writeString(tmp.resolve("discovery.conf"), "capi.cluster.pekko.discovery.config.services.capi.endpoints = ["
        + "{host = \"127.0.0.1\", port = " + management[0] + "}, {host = \"127.0.0.1\", port = " + management[1] + "}]\n");
    trainsWithTwoNodes("kubernetes", tmp.resolve("kubernetes"),
        i -> Map.of("KUBERNETES_SERVICE_HOST", "10.96.0.1", "POD_IP", "127.0.0.1"),
        i -> new String[] {"--config", conf.toString(), d("cluster.port", CapiProcesses.freePort()), d("cluster.min-nodes", 2),
            d("cluster.bootstrap.discovery-method", "config"), d("cluster.bootstrap.management-port", management[i])});
    assertTrue((nodes.output("kubernetes0") + nodes.output("kubernetes1")).contains("ClusterBootstrap"), nodes.tails());
  }
}
