package capi.config;

import capi.config.CollectiveConfig.Channel;
import capi.config.CollectiveConfig.SameHost;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Values set over a configuration, in order (a later value of the same key wins): the user's
 * {@code -Dcapi.KEY=VALUE} arguments, and the options of a command ({@code --steps} ...). Keys are
 * HOCON paths; {@link #set} takes them relative to {@code capi} ("collective.mtu"). Null values
 * are "not given" and set nothing, so an absent command option leaves the key alone.
 */
public final class Overrides {
  private static final String ROOT = "capi.";
  private final Map<String, Object> values = new LinkedHashMap<>();

  private Overrides() {}

  public static Overrides none() {
    return new Overrides();
  }

  /** The user's -D arguments, keys as typed ("capi.model.dim"); an unknown key fails at load. */
  public static Overrides commandLine(Map<String, String> keyValues) {
    Overrides o = new Overrides();
    o.values.putAll(keyValues);
    return o;
  }

  /** Sets {@code capi.<key>} (e.g. "train.steps"); a null value sets nothing. */
  public Overrides set(String key, Object value) {
    if (value != null) {
      String full = ROOT + key;
      values.remove(full); // re-inserted last: iteration order is precedence order
      values.put(full, value instanceof Choice c ? c.word() : value.toString());
    }
    return this;
  }

  /** These overrides, then {@code later}'s (which win). */
  public Overrides and(Overrides later) {
    Overrides o = new Overrides();
    o.values.putAll(values);
    for (Map.Entry<String, Object> e : later.values.entrySet()) {
      o.values.remove(e.getKey());
      o.values.put(e.getKey(), e.getValue());
    }
    return o;
  }

  public boolean isEmpty() {
    return values.isEmpty();
  }

  // ---- what commands set -------------------------------------------------------------------------
  public Overrides preset(String name) {
    return set("preset", name);
  }

  public Overrides dataset(String spec) {
    return set("data.dataset", spec);
  }

  public Overrides runDir(Object dir) {
    return set("train.run-dir", dir);
  }

  public Overrides steps(Long steps) {
    return set("train.steps", steps);
  }

  public Overrides workers(Integer workers) {
    return set("train.workers", workers);
  }

  public Overrides batchSize(Integer batch) {
    return set("train.batch-size", batch);
  }

  public Overrides seed(Long seed) {
    return set("train.seed", seed);
  }

  public Overrides checkpointEvery(Long steps) {
    return set("checkpoint.every", steps);
  }

  public Overrides metricsPort(Integer port) {
    return set("monitoring.metrics-port", port);
  }

  public Overrides clusterHost(String host) {
    return set("cluster.host", host);
  }

  public Overrides minNodes(Integer nodes) {
    return set("cluster.min-nodes", nodes);
  }

  public Overrides clusterPort(Integer port) {
    return set("cluster.port", port);
  }

  public Overrides channel(CollectiveConfig.Channel channel) {
    return set("collective.channel", channel);
  }

  public Overrides sameHost(CollectiveConfig.SameHost sameHost) {
    return set("collective.same-host", sameHost);
  }

  public Overrides udpHost(String host) {
    return set("collective.udp-host", host);
  }

  public Overrides evalDataset(String spec) {
    return set("eval.dataset", spec);
  }

  // ---- use ---------------------------------------------------------------------------------------

  /** As {@code -Dkey=value} command-line arguments (for tests and tools that start `capi`). */
  public List<String> toArgs() {
    List<String> args = new ArrayList<>();
    for (Map.Entry<String, Object> e : values.entrySet()) args.add("-D" + e.getKey() + "=" + e.getValue());
    return args;
  }

  /** The overrides as a configuration tree (values parsed as HOCON would parse them from -D). */
  Config toConfig() {
    Map<String, Object> asStrings = new LinkedHashMap<>();
    values.forEach((k, v) -> asStrings.put(k, v.toString()));
    return ConfigFactory.parseMap(asStrings, "command-line overrides");
  }

  @Override
  public String toString() {
    return String.join(" ", toArgs());
  }
}
