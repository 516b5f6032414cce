package capi.cli;

import capi.actors.ClusterSettings;
import capi.actors.RunDirectory;
import capi.actors.RunResult;
import capi.actors.TrainingRun;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
    Map<String, String> o = run.overrides();
    RunOptions.put(o, "capi.cluster.port", port);
    // Nodes have a media driver each: their ranks talk over UDP unless told otherwise.
    if (!common.overrides.containsKey("capi.collective.channel")) o.put("capi.collective.channel", "udp");
    Config config = common.load(run.preset, o);
    Validation.all(config);
    RunDirectory dir = RunDirectory.createOrOpen(config.getString("capi.train.run-dir"), config);
    Config resolved = ConfigFactory.parseMap(nodeLocal(config)).withFallback(dir.savedConfig()).resolve();
    ClusterSettings cluster = new ClusterSettings(
        config.getString("capi.cluster.host"), config.getInt("capi.cluster.port"), seedNodes);
    RunResult r = TrainingRun.run(resolved, dir, cluster);
    return r.ok() && !r.hasFinalLine() ? Main.EXIT_OK : TrainCommand.report(r);
  }

  /** Settings that belong to this node, not to the run (so they win over a saved config.conf). */
  private static Map<String, String> nodeLocal(Config c) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String key : Arrays.asList("capi.cluster.host", "capi.cluster.port", "capi.train.workers",
        "capi.monitoring.metrics-port", "capi.collective.udp-host")) {
      m.put(key, c.getValue(key).unwrapped().toString());
    }
    return m;
  }
}
