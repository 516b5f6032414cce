package capi.cli;

import capi.config.CollectiveConfig;
import capi.config.DataConfig;
import capi.config.EvalConfig;
import capi.config.ModelConfig;
import capi.config.MonitoringConfig;
import capi.config.OptimConfig;
import capi.config.TrainConfig;
import com.typesafe.config.Config;

/** Reads every typed section once before anything starts, so a bad value fails fast with exit 2. */
final class Validation {
  private Validation() {}

  static void all(Config c) {
    ModelConfig.from(c);
    OptimConfig.from(c);
    TrainConfig.from(c);
    DataConfig.from(c);
    CollectiveConfig.from(c);
    MonitoringConfig.from(c);
    EvalConfig.from(c);
  }
}
