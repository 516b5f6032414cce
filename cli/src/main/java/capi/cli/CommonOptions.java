package capi.cli;

import capi.config.CapiConfig;
import capi.config.Overrides;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options every command takes: -Dkey=value overrides and --config FILE. */
public final class CommonOptions {
  @Option(names = "-D", paramLabel = "KEY=VALUE", description = "Configuration override (HOCON path from reference.conf).")
  Map<String, String> overrides = new LinkedHashMap<>();

  @Option(names = "--config", paramLabel = "FILE", description = "HOCON file over the defaults.")
  Path configFile;

  /** The -D arguments. */
  Overrides dashD() {
    return Overrides.commandLine(overrides);
  }

  /** The configuration: --config, then -D, then a command's {@code options} (which win). */
  CapiConfig load(Overrides options) {
    return load(Overrides.none(), options);
  }

  /** As {@link #load(Overrides)}, over a command's own {@code defaults} (which the user's settings win over). */
  CapiConfig load(Overrides defaults, Overrides options) {
    return CapiConfig.load(configFile, defaults.and(dashD()).and(options));
  }
}
