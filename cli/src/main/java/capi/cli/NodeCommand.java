package capi.cli;

import capi.actors.ClusterSettings;
import capi.actors.RunDirectory;
import capi.actors.RunResult;
import capi.actors.TrainingRun;
import capi.config.CapiConfig;
import capi.config.CollectiveConfig.Channel;
import capi.config.Overrides;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `capi node`: joins (or, as the first seed, starts) a multi-node cluster. The cluster trains once
 * it has capi.cluster.min-nodes nodes; the coordinator is a cluster singleton. All nodes name the
 * same run directory (shared storage); a directory that already holds the run is resumed.
 */
@Command(name = "node", description = "Join or start a multi-node training cluster.")
public final class NodeCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--seed-nodes", required = true, split = ",", paramLabel = "HOST:PORT",
      description = "Seed nodes; the first one starts the cluster.")
  List<String> seedNodes;

  @Option(names = "--port", description = "This node's cluster port (capi.cluster.port).")
  Integer port;

  @Mixin RunOptions run;

  @Override
  public Integer call() throws Exception {
    // Nodes have a media driver each: their ranks talk over UDP unless told otherwise.
    CapiConfig config = common.load(Overrides.none().channel(Channel.UDP), run.overrides().clusterPort(port));
    RunDirectory dir = RunDirectory.createOrOpen(config);
    CapiConfig resolved = dir.savedConfig(nodeLocal(config));
    ClusterSettings cluster = new ClusterSettings(config.cluster().host(), config.cluster().port(), seedNodes);
    RunResult r = TrainingRun.run(resolved, dir, cluster);
    return r.ok() && !r.hasFinalLine() ? Main.EXIT_OK : TrainCommand.report(r);
  }

  /** Settings that belong to this node, not to the run (so they win over a saved config.conf). */
  private static Overrides nodeLocal(CapiConfig c) {
    return Overrides.none().clusterHost(c.cluster().host()).clusterPort(c.cluster().port())
        .workers(c.train().workers()).metricsPort(c.monitoring().metricsPort()).udpHost(c.collective().udpHost());
  }
}
