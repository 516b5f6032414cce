package capi.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Seed nodes, this node's address and the node count from --seed-nodes, Slurm, torchrun and Kubernetes. */
class ClusterLaunchTest {
  /** A machine whose route to anything leaves from 10.0.0.9. */
  private static final ClusterLaunch.Addresses HERE = new ClusterLaunch.Addresses() {
    @Override
    public String towards(String host) {
      return "10.0.0.9";
    }

    @Override
    public String local() {
      return "10.0.0.8";
    }
  };

  private static ClusterConfig cluster(Map<String, String> keys) {
    return CapiConfig.load(null, Overrides.commandLine(keys)).cluster();
  }

  private static ClusterLaunch launch(Map<String, String> keys, List<String> seeds, Map<String, String> env) {
    return ClusterLaunch.resolve(cluster(keys), seeds, env, HERE);
  }

  private static String bad(Map<String, String> keys, List<String> seeds, Map<String, String> env) {
    BadConfigException e = assertThrows(BadConfigException.class, () -> launch(keys, seeds, env));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    return e.getMessage();
  }

  @Test
  void seedNodesByHand() {
    ClusterLaunch l = launch(Map.of(), List.of("h1:2551", "h2:2551"), Map.of("SLURM_JOB_NODELIST", "x[1-2]"));
    assertEquals(new ClusterLaunch("seed-nodes", "10.0.0.9", 25520, List.of("h1:2551", "h2:2551"), 1, false), l);
    l = launch(Map.of("capi.cluster.host", "h2", "capi.cluster.port", "2551", "capi.cluster.min-nodes", "2"),
        List.of("h1:2551"), Map.of());
    assertEquals(new ClusterLaunch("seed-nodes", "h2", 2551, List.of("h1:2551"), 2, false), l);
    assertTrue(bad(Map.of(), List.of("h1"), Map.of()).contains("\"h1\" is not HOST:PORT"));
    assertTrue(bad(Map.of(), List.of("h1:99999"), Map.of()).contains("\"h1:99999\" is not HOST:PORT"));
    assertTrue(bad(Map.of("capi.cluster.discovery", "seed-nodes"), List.of(), Map.of()).contains("--seed-nodes"));
  }

  @Test
  void nothingToJoinSaysWhatToGive() {
    assertTrue(bad(Map.of(), List.of(), Map.of("HOME", "/root")).startsWith("capi node: no cluster to join: give --seed-nodes"));
  }

  @Test
  void slurmOneTaskPerNode() {
    Map<String, String> env = Map.of("SLURM_JOB_NODELIST", "gpu[01-03]", "SLURM_NNODES", "3", "SLURM_NODEID", "1",
        "SLURM_PROCID", "1", "SLURM_NTASKS", "3", "SLURMD_NODENAME", "gpu02");
    ClusterLaunch l = launch(Map.of(), List.of(), env);
    assertEquals(new ClusterLaunch("slurm", "gpu02", 25520, List.of("gpu01:25520", "gpu02:25520", "gpu03:25520"), 3, false), l);
    // The step's node list wins over the job's; without SLURMD_NODENAME the node id picks the host.
    l = launch(Map.of("capi.cluster.port", "2600", "capi.cluster.min-nodes", "2"), List.of(),
        Map.of("SLURM_JOB_NODELIST", "n[1-9]", "SLURM_STEP_NODELIST", "n[3-4]", "SLURM_STEP_NUM_NODES", "2", "SLURM_NODEID", "0"));
    assertEquals(new ClusterLaunch("slurm", "n3", 2600, List.of("n3:2600", "n4:2600"), 2, false), l);
  }

  @Test
  void slurmSeedsAreTheFirstEightNodes() {
    ClusterLaunch l = launch(Map.of(), List.of(), Map.of("SLURM_JOB_NODELIST", "c[001-100]", "SLURM_NODEID", "99"));
    assertEquals(8, l.seedNodes().size());
    assertEquals("c008:25520", l.seedNodes().get(7));
    assertEquals("c100", l.host());
    assertEquals(100, l.minNodes());
  }

  @Test
  void badSlurmEnvironments() {
    assertTrue(bad(Map.of(), List.of(), Map.of("SLURM_JOB_NODELIST", "gpu[1-2", "SLURM_NODEID", "0"))
        .startsWith("SLURM_JOB_NODELIST = \"gpu[1-2\": '[' without ']'"));
    assertEquals("SLURM_NODEID = \"2\": must be an integer in [0, 1]",
        bad(Map.of(), List.of(), Map.of("SLURM_JOB_NODELIST", "gpu[1-2]", "SLURM_NODEID", "2")));
    assertEquals("SLURM_NODEID is not set", bad(Map.of(), List.of(), Map.of("SLURM_JOB_NODELIST", "gpu[1-2]")));
    assertEquals("SLURM_NNODES = 3: SLURM_JOB_NODELIST lists 2 nodes",
        bad(Map.of(), List.of(), Map.of("SLURM_JOB_NODELIST", "gpu[1-2]", "SLURM_NNODES", "3", "SLURM_NODEID", "0")));
    assertTrue(bad(Map.of(), List.of(), Map.of("SLURM_JOB_NODELIST", "gpu[1-2]", "SLURM_NTASKS", "8", "SLURM_NODEID", "0"))
        .contains("srun --ntasks-per-node=1"));
    assertTrue(bad(Map.of(), List.of(), Map.of("SLURM_JOB_NODELIST", "gpu[1-2]", "SLURM_PROCID", "3", "SLURM_NODEID", "1"))
        .contains("srun --ntasks-per-node=1"));
  }

  @Test
  void torchrunStyle() {
    Map<String, String> env = Map.of("MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "29500", "WORLD_SIZE", "4", "RANK", "0");
    assertEquals(new ClusterLaunch("torchrun", "10.0.0.1", 29500, List.of("10.0.0.1:29500"), 4, false), launch(Map.of(), List.of(), env));
    env = Map.of("MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "29500", "WORLD_SIZE", "4", "RANK", "3", "LOCAL_WORLD_SIZE", "1");
    assertEquals(new ClusterLaunch("torchrun", "10.0.0.9", 29500, List.of("10.0.0.1:29500"), 4, false), launch(Map.of(), List.of(), env));
    // A cluster port of its own (torchrun's agent holds MASTER_PORT): the seed is MASTER_ADDR on it.
    assertEquals(List.of("10.0.0.1:2600"), launch(Map.of("capi.cluster.port", "2600"), List.of(), env).seedNodes());
  }

  @Test
  void badTorchrunEnvironments() {
    assertEquals("MASTER_PORT is not set", bad(Map.of(), List.of(), Map.of("MASTER_ADDR", "m")));
    assertEquals("MASTER_PORT = \"http\": must be an integer in [1, 65535]",
        bad(Map.of(), List.of(), Map.of("MASTER_ADDR", "m", "MASTER_PORT", "http", "WORLD_SIZE", "2", "RANK", "0")));
    assertEquals("RANK = \"2\": must be an integer in [0, 1]",
        bad(Map.of(), List.of(), Map.of("MASTER_ADDR", "m", "MASTER_PORT", "1", "WORLD_SIZE", "2", "RANK", "2")));
    assertTrue(bad(Map.of(), List.of(), Map.of("MASTER_ADDR", "m", "MASTER_PORT", "1", "WORLD_SIZE", "8", "RANK", "2",
        "LOCAL_WORLD_SIZE", "4")).contains("--nproc-per-node=1"));
  }

  @Test
  void kubernetesBootstraps() {
    assertEquals(new ClusterLaunch("kubernetes", "10.4.0.7", 25520, List.of(), 1, true),
        launch(Map.of(), List.of(), Map.of("KUBERNETES_SERVICE_HOST", "10.96.0.1", "POD_IP", "10.4.0.7")));
    assertEquals(new ClusterLaunch("kubernetes", "10.0.0.8", 25520, List.of(), 3, true),
        launch(Map.of("capi.cluster.min-nodes", "3"), List.of(), Map.of("KUBERNETES_SERVICE_HOST", "10.96.0.1")));
    // Chosen explicitly, whatever else the environment says.
    assertTrue(launch(Map.of("capi.cluster.discovery", "kubernetes"), List.of(), Map.of("MASTER_ADDR", "m")).bootstrap());
  }

  @Test
  void continuingNeedsNoMoreNodesThanStarting() {
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> cluster(Map.of("capi.cluster.min-nodes", "2", "capi.cluster.min-nodes-to-continue", "3")));
    assertEquals("capi.cluster.min-nodes-to-continue = 3: must be <= capi.cluster.min-nodes (2)", e.getMessage());
  }

  @Test
  void theNodeAddressIsTheDefaultOfItsEndpoints() {
    CapiConfig c = CapiConfig.load(null, Overrides.none().clusterHost("10.77.3.2"));
    assertEquals("10.77.3.2", c.collective().udpHost());
    assertEquals("10.77.3.2", c.monitoring().metricsHost());
    c = CapiConfig.load(null, Overrides.none());
    assertEquals("127.0.0.1", c.collective().udpHost());
    assertEquals("127.0.0.1", c.monitoring().metricsHost());
    c = CapiConfig.load(null, Overrides.none().clusterHost("h").udpHost("10.0.0.5").set("monitoring.metrics-host", "0.0.0.0"));
    assertEquals("10.0.0.5", c.collective().udpHost());
    assertEquals("0.0.0.0", c.monitoring().metricsHost());
  }

  @Test
  void tlsNeedsItsFiles() {
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> cluster(Map.of("capi.cluster.tls.enabled", "true", "capi.cluster.tls.key-file", "/nonexistent/tls.key")));
    assertEquals("capi.cluster.tls.key-file = \"/nonexistent/tls.key\": must name a readable PEM file when"
        + " capi.cluster.tls.enabled = true", e.getMessage());
  }
}
