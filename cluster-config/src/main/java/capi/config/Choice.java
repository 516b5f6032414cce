package capi.config;

import java.util.Locale;

/** An enum whose constants are configuration words: SHARED_NETWORK is written shared-network. */
public interface Choice {
  String name();

  /** The constant as it is written in reference.conf and on the command line. */
  default String word() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
