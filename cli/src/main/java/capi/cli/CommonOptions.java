package capi.cli;

import capi.config.CapiConfig;
import com.typesafe.config.Config;
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

  /** Loads the configuration with extra overrides from command options (they win over -D). */
  public Config load(String preset, Map<String, String> fromOptions) {
    Map<String, String> all = new LinkedHashMap<>(overrides);
    all.putAll(fromOptions);
    return CapiConfig.load(configFile, all, preset);
  }
}
