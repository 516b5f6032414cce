package capi.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The whole configuration of a command, typed and validated once: every section of
 * reference.conf as a record. Nothing downstream reads raw HOCON; a bad value fails here with a
 * {@link BadConfigException} naming the key (exit 2).
 *
 * <p>Layers, later over earlier: reference.conf, the preset ({@code capi.presets.NAME}), a
 * {@code --config} file, the overrides (-D and command options). Keys the user sets must exist in
 * reference.conf ({@link KnownKeys}).
 *
 * @param preset the preset that was applied
 * @param hocon the resolved {@code capi} tree as HOCON: a run directory's config.conf
 */
public record CapiConfig(
    String preset,
    ModelConfig model,
    OptimConfig optim,
    EngineConfig engine,
    TrainConfig train,
    CheckpointConfig checkpoint,
    DataConfig data,
    EvalConfig eval,
    CollectiveConfig collective,
    ClusterConfig cluster,
    MonitoringConfig monitoring,
    String hocon) {

  /** A command's configuration: {@code file} (or null) and {@code overrides} over the preset they name. */
  public static CapiConfig load(Path file, Overrides overrides) {
    Config reference = ConfigFactory.defaultReference();
    Config user = userLayers(reference, file, overrides);
    String name = parse(() -> user.withFallback(reference).getString("capi.preset"), "capi.preset");
    String presetPath = "capi.presets.\"" + name + "\"";
    if (!reference.hasPath(presetPath)) {
      throw BadConfigException.of(
          "capi.preset", name, "unknown preset; allowed: " + reference.getConfig("capi.presets").root().keySet());
    }
    Config presetTree = reference.getConfig(presetPath).atPath("capi");
    return of(parse(() -> user.withFallback(presetTree).withFallback(reference).resolve(), "configuration"));
  }

  /** The defaults of a preset, without file or overrides. */
  public static CapiConfig preset(String name) {
    return load(null, Overrides.none().preset(name));
  }

  /** A saved config.conf ({@link #hocon}) with {@code overrides} over it (e.g. resume --steps). */
  public static CapiConfig read(Path configConf, Overrides overrides) {
    return read(configConf, null, overrides);
  }

  /** A saved config.conf with {@code file} (or null) and {@code overrides} over it. */
  public static CapiConfig read(Path configConf, Path file, Overrides overrides) {
    Config reference = ConfigFactory.defaultReference();
    Config saved = parse(() -> ConfigFactory.parseFile(configConf.toFile()), configConf.toString());
    new KnownKeys(reference).check(saved, configConf.toString());
    Config user = userLayers(reference, file, overrides);
    return of(parse(() -> user.withFallback(saved).withFallback(reference).resolve(), configConf.toString()));
  }

  /**
   * A cluster node's view of a saved config.conf: the saved run, with this node's own settings
   * from {@code node} (its cluster section, monitoring, udp address, worker count and GPUs), which belong
   * to the machine and not to the run. Validated once, after the merge: the saved file may name
   * another node's certificate files.
   */
  public static CapiConfig readForNode(Path configConf, CapiConfig node) {
    Config reference = ConfigFactory.defaultReference();
    Config saved = parse(() -> ConfigFactory.parseFile(configConf.toFile()), configConf.toString());
    new KnownKeys(reference).check(saved, configConf.toString());
    Config own = ConfigFactory.parseString(node.hocon);
    Config local = ConfigFactory.empty();
    for (String path : NODE_LOCAL) local = local.withFallback(own.getValue(path).atPath(path));
    Config merged = local.withFallback(saved);
    return of(parse(() -> merged.withFallback(reference).resolve(), configConf.toString()));
  }

  /** The settings of a node rather than of its run (readForNode). */
  private static final String[] NODE_LOCAL = {
    "capi.cluster", "capi.monitoring", "capi.collective.udp-host", "capi.train.workers", "capi.engine.devices"
  };

  /** This configuration with {@code overrides} over it, validated again. */
  public CapiConfig with(Overrides overrides) {
    if (overrides.isEmpty()) return this;
    Config reference = ConfigFactory.defaultReference();
    Config user = userLayers(reference, null, overrides);
    Config self = ConfigFactory.parseString(hocon);
    return of(parse(() -> user.withFallback(self).withFallback(reference).resolve(), "configuration"));
  }

  /** The overrides over the --config file (or none), each checked for unknown keys. */
  private static Config userLayers(Config reference, Path file, Overrides overrides) {
    KnownKeys known = new KnownKeys(reference);
    Config fromFile = ConfigFactory.empty();
    if (file != null) {
      if (!Files.isRegularFile(file)) throw new BadConfigException("--config " + file + ": no such file");
      fromFile = parse(() -> ConfigFactory.parseFile(file.toFile()), "--config " + file);
      known.check(fromFile, "--config " + file);
    }
    Config fromOverrides = overrides.toConfig();
    known.check(fromOverrides, "command line");
    return fromOverrides.withFallback(fromFile);
  }

  /** Reads and validates every section of a resolved tree. */
  private static CapiConfig of(Config c) {
    ClusterConfig cluster = ClusterConfig.from(c);
    return new CapiConfig(
        Values.string(c, "capi.preset"),
        ModelConfig.from(c),
        OptimConfig.from(c),
        EngineConfig.from(c),
        TrainConfig.from(c),
        CheckpointConfig.from(c),
        DataConfig.from(c),
        EvalConfig.from(c),
        CollectiveConfig.from(c, cluster.nodeAddress()),
        cluster,
        MonitoringConfig.from(c, cluster.nodeAddress()),
        c.getConfig("capi").atPath("capi").root()
            .render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false)));
  }

  private interface Parse<T> {
    T get();
  }

  /** HOCON syntax and resolution errors as BadConfigException (exit 2), naming where. */
  private static <T> T parse(Parse<T> p, String where) {
    try {
      return p.get();
    } catch (ConfigException e) {
      throw new BadConfigException(where + ": " + e.getMessage());
    }
  }
}
