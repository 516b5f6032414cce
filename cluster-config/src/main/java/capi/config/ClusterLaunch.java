package capi.config;

import capi.config.ClusterConfig.Discovery;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where a `capi node` finds its cluster, read once from its configuration, its {@code --seed-nodes}
 * and the launcher's environment: seed nodes given by hand, Slurm ({@code srun}, one task per
 * node), torchrun-style variables, or Kubernetes (Pekko Cluster Bootstrap). Bad or missing values
 * fail with a {@link BadConfigException} naming the variable (exit 2).
 *
 * @param launcher what the node was launched by: seed-nodes, slurm, torchrun or kubernetes
 * @param host this node's cluster address
 * @param port this node's cluster port
 * @param seedNodes HOST:PORT of the seed nodes (empty with bootstrap)
 * @param minNodes nodes to wait for before training starts
 * @param bootstrap whether the node forms or joins its cluster through Cluster Bootstrap
 */
public record ClusterLaunch(String launcher, String host, int port, List<String> seedNodes, int minNodes,
    boolean bootstrap) {

  /** Seed nodes taken from a launcher's node list: enough that a restarted node finds a live one. */
  static final int MAX_SEEDS = 8;

  /** This machine's addresses, as the launch needs them (tests pass their own). */
  public interface Addresses {
    /** The local address from which this machine reaches {@code host} (the interface that routes there). */
    String towards(String host);

    /** This machine's address when nothing names a peer (Kubernetes without POD_IP). */
    String local();
  }

  /** Resolves the launch; {@code seedOption} is --seed-nodes (empty when not given). */
  public static ClusterLaunch resolve(ClusterConfig cfg, List<String> seedOption, Map<String, String> env, Addresses addresses) {
    Discovery d = cfg.discovery() == Discovery.AUTO ? detect(seedOption, env) : cfg.discovery();
    return switch (d) {
      case SEED_NODES -> seedNodes(cfg, seedOption, addresses);
      case SLURM -> slurm(cfg, env);
      case TORCHRUN -> torchrun(cfg, env, addresses);
      case KUBERNETES -> kubernetes(cfg, env, addresses);
      case AUTO -> throw new IllegalStateException("detect() never answers AUTO");
    };
  }

  private static Discovery detect(List<String> seedOption, Map<String, String> env) {
    if (!seedOption.isEmpty()) return Discovery.SEED_NODES;
    if (env.containsKey("SLURM_STEP_NODELIST") || env.containsKey("SLURM_JOB_NODELIST")) return Discovery.SLURM;
    if (env.containsKey("MASTER_ADDR")) return Discovery.TORCHRUN;
    if (env.containsKey("KUBERNETES_SERVICE_HOST")) return Discovery.KUBERNETES;
    throw new BadConfigException("capi node: no cluster to join: give --seed-nodes HOST:PORT[,...], or start it with"
        + " Slurm (srun), torchrun-style variables (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK) or in Kubernetes"
        + " (README: Run on a cluster)");
  }

  private static ClusterLaunch seedNodes(ClusterConfig cfg, List<String> seeds, Addresses addresses) {
    if (seeds.isEmpty()) {
      throw new BadConfigException("capi.cluster.discovery = seed-nodes: give the seed nodes with --seed-nodes HOST:PORT[,...]");
    }
    for (String s : seeds) {
      int colon = s.lastIndexOf(':');
      if (colon <= 0 || !s.substring(colon + 1).matches("\\d{1,5}") || Integer.parseInt(s.substring(colon + 1)) > 65535) {
        throw new BadConfigException("--seed-nodes " + String.join(",", seeds) + ": \"" + s + "\" is not HOST:PORT");
      }
    }
    String first = seeds.get(0).substring(0, seeds.get(0).lastIndexOf(':'));
    String host = cfg.host().isEmpty() ? addresses.towards(first) : cfg.host();
    return new ClusterLaunch("seed-nodes", host, portOr(cfg, ClusterConfig.DEFAULT_PORT), List.copyOf(seeds),
        Math.max(1, cfg.minNodes()), false);
  }

  /**
   * Slurm, one task per node ({@code srun --ntasks-per-node=1 capi node ...}): the step's (else the
   * job's) node list gives the nodes and the seed nodes (its first {@value #MAX_SEEDS}), this node
   * is SLURMD_NODENAME (else the list's SLURM_NODEID-th), and every node waits for all of them.
   */
  private static ClusterLaunch slurm(ClusterConfig cfg, Map<String, String> env) {
    String var = env.containsKey("SLURM_STEP_NODELIST") ? "SLURM_STEP_NODELIST" : "SLURM_JOB_NODELIST";
    List<String> nodes = SlurmNodeList.expand(var, required(env, var));
    String countVar = env.containsKey("SLURM_STEP_NUM_NODES") ? "SLURM_STEP_NUM_NODES" : "SLURM_NNODES";
    if (env.containsKey(countVar) && integer(env, countVar, 1, Integer.MAX_VALUE) != nodes.size()) {
      throw new BadConfigException(countVar + " = " + env.get(countVar) + ": " + var + " lists " + nodes.size() + " nodes");
    }
    String tasksVar = env.containsKey("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS";
    if (env.containsKey(tasksVar) && integer(env, tasksVar, 1, Integer.MAX_VALUE) > nodes.size()) {
      throw new BadConfigException(tasksVar + " = " + env.get(tasksVar) + " on " + nodes.size()
          + " nodes: run one capi node per node (srun --ntasks-per-node=1) and give it the node's devices with --workers");
    }
    int index;
    String self = env.get("SLURMD_NODENAME");
    if (self != null && nodes.contains(self)) {
      index = nodes.indexOf(self);
    } else {
      index = integer(env, "SLURM_NODEID", 0, nodes.size() - 1);
    }
    if (env.containsKey("SLURM_PROCID") && integer(env, "SLURM_PROCID", 0, Integer.MAX_VALUE) != index) {
      throw new BadConfigException("SLURM_PROCID = " + env.get("SLURM_PROCID") + " on node " + index + " (" + nodes.get(index)
          + "): run one capi node per node (srun --ntasks-per-node=1)");
    }
    int port = portOr(cfg, ClusterConfig.DEFAULT_PORT);
    List<String> seeds = new ArrayList<>();
    for (String n : nodes.subList(0, Math.min(MAX_SEEDS, nodes.size()))) seeds.add(n + ":" + port);
    String host = cfg.host().isEmpty() ? nodes.get(index) : cfg.host();
    return new ClusterLaunch("slurm", host, port, seeds, cfg.minNodes() > 0 ? cfg.minNodes() : nodes.size(), false);
  }

  /**
   * torchrun-style variables, one process per node: MASTER_ADDR:MASTER_PORT is the seed node
   * (rank 0 listens there), WORLD_SIZE the node count, RANK this node's. LOCAL_WORLD_SIZE above 1
   * (several processes per node) is refused: one capi node drives all of a node's devices.
   */
  private static ClusterLaunch torchrun(ClusterConfig cfg, Map<String, String> env, Addresses addresses) {
    String master = required(env, "MASTER_ADDR").trim();
    if (master.isEmpty() || master.contains(" ")) throw new BadConfigException("MASTER_ADDR = \"" + master + "\": not a host");
    int masterPort = integer(env, "MASTER_PORT", 1, 65535);
    int world = integer(env, "WORLD_SIZE", 1, Integer.MAX_VALUE);
    int rank = integer(env, "RANK", 0, world - 1);
    if (env.containsKey("LOCAL_WORLD_SIZE") && integer(env, "LOCAL_WORLD_SIZE", 1, Integer.MAX_VALUE) > 1) {
      throw new BadConfigException("LOCAL_WORLD_SIZE = " + env.get("LOCAL_WORLD_SIZE")
          + ": run one capi node per node (--nproc-per-node=1) and give it the node's devices with --workers");
    }
    int port = portOr(cfg, masterPort);
    String host = !cfg.host().isEmpty() ? cfg.host() : rank == 0 ? master : addresses.towards(master);
    return new ClusterLaunch("torchrun", host, port, List.of(master + ":" + port), cfg.minNodes() > 0 ? cfg.minNodes() : world,
        false);
  }

  /** Kubernetes: no seed list; Cluster Bootstrap finds the pods. This pod's address: POD_IP (downward API). */
  private static ClusterLaunch kubernetes(ClusterConfig cfg, Map<String, String> env, Addresses addresses) {
    String host = !cfg.host().isEmpty() ? cfg.host()
        : env.getOrDefault("POD_IP", "").isBlank() ? addresses.local() : env.get("POD_IP").trim();
    return new ClusterLaunch("kubernetes", host, portOr(cfg, ClusterConfig.DEFAULT_PORT), List.of(),
        Math.max(1, cfg.minNodes()), true);
  }

  private static int portOr(ClusterConfig cfg, int launcherPort) {
    return cfg.port() != 0 ? cfg.port() : launcherPort;
  }

  private static String required(Map<String, String> env, String var) {
    String v = env.get(var);
    if (v == null) throw new BadConfigException(var + " is not set");
    return v;
  }

  private static int integer(Map<String, String> env, String var, int min, int max) {
    String v = required(env, var).trim();
    try {
      int n = Integer.parseInt(v);
      if (n >= min && n <= max) return n;
    } catch (NumberFormatException e) {
      // below
    }
    throw new BadConfigException(var + " = \"" + v + "\": must be an integer in [" + min + ", " + max + "]");
  }

  /** This machine's addresses from the kernel's routing table (no packet is sent). */
  public static final Addresses SYSTEM = new Addresses() {
    @Override
    public String towards(String host) {
      try (DatagramSocket s = new DatagramSocket()) {
        s.connect(new InetSocketAddress(InetAddress.getByName(host), 9));
        InetAddress local = s.getLocalAddress();
        if (local == null || local.isAnyLocalAddress()) throw new BadConfigException("no route to " + host + "; set capi.cluster.host");
        return local.getHostAddress();
      } catch (UnknownHostException e) {
        throw new BadConfigException("cannot resolve " + host + " (" + e.getMessage() + ")");
      } catch (IOException e) {
        throw new BadConfigException("no route to " + host + " (" + e.getMessage() + "); set capi.cluster.host");
      }
    }

    @Override
    public String local() {
      try {
        return InetAddress.getLocalHost().getHostAddress();
      } catch (UnknownHostException e) {
        throw new UncheckedIOException(e);
      }
    }
  };
}
