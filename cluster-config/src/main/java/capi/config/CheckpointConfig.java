package capi.config;

import com.typesafe.config.Config;

/**
 * Checkpoints of a run ({@code capi.checkpoint.*}).
 *
 * @param every a checkpoint every this many steps (and at the end of a run)
 * @param keep checkpoints kept on disk (the newest by step)
 */
public record CheckpointConfig(long every, int keep) {

  static CheckpointConfig from(Config c) {
    return new CheckpointConfig(Values.positiveLong(c, "capi.checkpoint.every"), Values.positiveInt(c, "capi.checkpoint.keep"));
  }
}
