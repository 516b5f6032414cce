package capi.collective;

import capi.config.CollectiveConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One rank of a two-rank ring between udp endpoints on two hosts (network namespaces), run in a
 * child JVM by NetworkNamespaceRingTest: joins generation 0 of the ring whose rank r receives at
 * address r, over Aeron or TCP (capi.collective.ring), runs {@code calls} of MappedPeer's checked
 * calls (a result that differs from the reference bit for bit fails) and prints "result HASH
 * CLASS" of the last one. Args: aeron-dir, address 0, address 1, rank, count, calls, ring.
 */
public final class UdpRingPeer {
  private UdpRingPeer() {}

  public static void main(String[] args) throws Exception {
    String[] hosts = {args[1], args[2]};
    int rank = Integer.parseInt(args[3]);
    int count = Integer.parseInt(args[4]);
    int calls = Integer.parseInt(args[5]);
    CollectiveConfig cfg = Ranks.config(Map.of("channel", "udp", "same-host", "ring", "aeron-dir", args[0],
        "udp-host", hosts[rank], "timeout", "20s", "ring", args[6]));
    List<Endpoint> endpoints = List.of(Endpoint.of(cfg, hosts[0], "", 0), Endpoint.of(cfg, hosts[1], "", 1));
    try (CollectiveNode node = CollectiveNode.start(cfg, "netns-" + rank); AllReduce group = node.join(0, rank, endpoints, count)) {
      float[] last = null;
      for (int call = 0; call < calls; call++) last = MappedPeer.run(group, call, count);
      System.out.println("result " + Arrays.hashCode(last) + " " + group.getClass().getSimpleName());
    }
    System.exit(0);
  }
}
