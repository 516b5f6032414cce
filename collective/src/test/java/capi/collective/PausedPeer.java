package capi.collective;

import capi.config.CollectiveConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Rank 1 of a two-process udp ring (same-host = ring: over Aeron, not the mapped file), run in a
 * child JVM by AeronPauseTest, which pauses it with SIGSTOP. Prints "ready" once its node runs;
 * joins generation 0 and runs MappedPeer's checked calls until one fails, printing "failed
 * generation 0: ..."; joins generation 1, runs {@code calls} calls and prints "result HASH restarts
 * N" (N: how often its node started Aeron anew), or "rejoin failed: ..." and exits with 1. Args:
 * aeron-dir, udp-port-base, count, calls.
 */
public final class PausedPeer {
  private PausedPeer() {}

  /** Both processes' configuration: the udp ring with a short timeout. */
  static CollectiveConfig config(String aeronDir, int portBase) {
    return Ranks.config(Map.of("channel", "udp", "same-host", "ring", "ring", "aeron",
        "aeron-dir", aeronDir, "udp-port-base", String.valueOf(portBase),
        "timeout", "3s", "term-length", "1048576"));
  }

  public static void main(String[] args) throws Exception {
    CollectiveConfig cfg = config(args[0], Integer.parseInt(args[1]));
    int count = Integer.parseInt(args[2]);
    int calls = Integer.parseInt(args[3]);
    List<Endpoint> endpoints = Endpoint.local(cfg, "", 2);
    try (CollectiveNode node = CollectiveNode.start(cfg, "paused-peer")) {
      System.out.println("ready");
      System.out.flush();
      int call = 0;
      try (AllReduce group = node.join(0, 1, endpoints, count)) {
        for (; ; call++) MappedPeer.run(group, call, count);
      } catch (RuntimeException e) {
        System.out.println("failed generation 0 in call " + call + ": " + e);
      }
      float[] last = null;
      try (AllReduce group = node.join(1, 1, endpoints, count)) {
        for (call = 0; call < calls; call++) last = MappedPeer.run(group, call, count);
      } catch (RuntimeException e) {
        System.out.println("rejoin failed: " + e);
        System.exit(1);
      }
      System.out.println("result " + Arrays.hashCode(last) + " restarts " + node.aeronRestarts());
    }
    System.exit(0);
  }
}
