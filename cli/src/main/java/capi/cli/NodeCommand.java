package capi.cli;

import capi.actors.ClusterSettings;
import capi.actors.RunDirectory;
import capi.actors.RunResult;
import capi.actors.TrainingRun;
import capi.config.CapiConfig;
import capi.config.ClusterLaunch;
import capi.config.CollectiveConfig.Channel;
import capi.config.Overrides;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `capi node`: joins (or, as the first seed, starts) a multi-node cluster. The cluster is found
 * through --seed-nodes, or the launcher's environment (Slurm, torchrun-style variables,
 * Kubernetes: ClusterLaunch). The cluster trains once it has capi.cluster.min-nodes nodes; the
 * coordinator is a cluster singleton. All nodes name the same run directory (shared storage); a
 * directory that already holds the run is resumed.
 */
@Command(name = "node", description = "Join or start a multi-node training cluster.")
public final class NodeCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--seed-nodes", split = ",", paramLabel = "HOST:PORT",
      description = "Seed nodes, the first starts the cluster (default: from Slurm, torchrun-style variables or Kubernetes).")
  List<String> seedNodes = List.of();

  @Option(names = "--port", description = "This node's cluster port (capi.cluster.port).")
  Integer port;

  @Mixin RunOptions run;

  @Override
  public Integer call() throws Exception {
    // Nodes have a media driver each: their ranks talk over UDP unless told otherwise.
    CapiConfig config = common.load(Overrides.none().channel(Channel.UDP), run.overrides().clusterPort(port));
    ClusterLaunch launch = ClusterLaunch.resolve(config.cluster(), seedNodes, System.getenv(), ClusterLaunch.SYSTEM);
    config = config.with(Overrides.none().clusterHost(launch.host()).clusterPort(launch.port()).minNodes(launch.minNodes()));
    RunDirectory dir = RunDirectory.createOrOpen(config);
    CapiConfig resolved = dir.savedConfigFor(config);
    String runId = config.cluster().runId().isEmpty() ? dir.dir().toString() : config.cluster().runId();
    System.err.println("capi node: " + launch.launcher() + ", this node " + launch.host() + ":" + launch.port() + ", "
        + (launch.bootstrap() ? "Cluster Bootstrap" : "seed nodes " + launch.seedNodes()) + ", starts with "
        + launch.minNodes() + " nodes, run " + runId);
    RunResult r = TrainingRun.run(resolved, dir, new ClusterSettings(resolved.cluster(), launch, runId, dir.dir()));
    return r.ok() && !r.hasFinalLine() ? Main.EXIT_OK : TrainCommand.report(r);
  }
}
