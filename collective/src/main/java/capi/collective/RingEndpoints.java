package capi.collective;

import capi.config.CollectiveConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each rank of an all-reduce group receives. An endpoint is "memory" (the rank reads its
 * peers' buffers in this JVM: SharedMemoryAllReduce), "aeron:ipc" (the rank shares this node's
 * media driver) or udp: {@code host:port}, or {@code host:port#shm=PATH} where PATH is the node's
 * same-host token file (NodeToken; written when capi.collective.same-host = shm). Over Aeron rank r
 * listens on stream {@code stream-id-base + r}, and on udp port {@code udp-port-base + r} of its
 * node's address; the ring uses only {@code host:port} ({@link #address}). Ranks whose endpoints
 * all name token files valid on this host all-reduce through a mapped file (MappedAllReduce); a
 * group whose token-carrying endpoints span hosts, several ranks on some, goes hierarchical
 * (HierarchicalAllReduce: ranks with one host in their address share a mapped file).
 */
public final class RingEndpoints {
  public static final String MEMORY = "memory";
  public static final String IPC = "aeron:ipc";
  private static final String SAME_HOST = "#shm=";
  private static final Path RMEM_MAX = Path.of("/proc/sys/net/core/rmem_max");

  private RingEndpoints() {}

  /**
   * The endpoint of {@code rank}, running on the node whose address is {@code host} and whose
   * same-host token file is {@code sameHost} ("" = none: CollectiveNode.sameHost).
   */
  public static String of(CollectiveConfig cfg, String host, String sameHost, int rank) {
    return switch (cfg.channel()) {
      case MEMORY -> MEMORY;
      case IPC -> IPC;
      case UDP -> host + ":" + (cfg.udpPortBase() + rank) + (sameHost.isEmpty() ? "" : SAME_HOST + sameHost);
    };
  }

  /** Endpoints of a group whose ranks all run on this node ({@code udp-host}). */
  public static List<String> local(CollectiveNode node, int worldSize) {
    return local(node.config(), node.sameHost(), worldSize);
  }

  /** Endpoints of a group whose ranks all run on one node ({@code udp-host}) with this token file ("" = none). */
  static List<String> local(CollectiveConfig cfg, String sameHost, int worldSize) {
    List<String> endpoints = new ArrayList<>(worldSize);
    for (int r = 0; r < worldSize; r++) endpoints.add(of(cfg, cfg.udpHost(), sameHost, r));
    return endpoints;
  }

  /** The udp address of an endpoint (without its token file), or the endpoint itself. */
  static String address(String endpoint) {
    int at = endpoint.indexOf(SAME_HOST);
    return at < 0 ? endpoint : endpoint.substring(0, at);
  }

  /**
   * The ranks of each host, in rank order, hosts in the order of their lowest rank: ranks whose udp
   * endpoints have the same host (the address before {@code :port}) are on one host.
   */
  static List<int[]> byHost(List<String> endpoints) {
    Map<String, List<Integer>> hosts = new LinkedHashMap<>();
    for (int r = 0; r < endpoints.size(); r++) {
      String address = address(endpoints.get(r));
      hosts.computeIfAbsent(address.substring(0, Math.max(0, address.lastIndexOf(':'))), h -> new ArrayList<>()).add(r);
    }
    return hosts.values().stream().map(ranks -> ranks.stream().mapToInt(Integer::intValue).toArray()).toList();
  }

  /** The token file an endpoint names, or "" when it names none. */
  static String sameHostFile(String endpoint) {
    int at = endpoint.indexOf(SAME_HOST);
    return at < 0 ? "" : endpoint.substring(at + SAME_HOST.length());
  }

  static int streamId(CollectiveConfig cfg, int rank) {
    return cfg.streamIdBase() + rank;
  }

  /** The channel a rank listens on at its own endpoint. */
  static String subscriptionChannel(CollectiveConfig cfg, String endpoint) {
    if (endpoint.equals(IPC)) return IPC;
    return "aeron:udp?endpoint=" + endpoint + "|so-rcvbuf=" + cfg.socketBuffer() + "|rcv-wnd=" + receiveWindow(cfg);
  }

  /**
   * Bytes a sender may have in flight: half of the socket buffer that the kernel really grants
   * (net.core.rmem_max caps it; each datagram also costs kernel overhead). A window larger than the
   * socket drops datagrams, and the retransmitted bursts overflow it again: the stream stalls.
   */
  static int receiveWindow(CollectiveConfig cfg) {
    long granted = cfg.socketBuffer();
    try {
      // readAllLines, not readString: /proc files report no size, and readString returns 1 byte.
      granted = Math.min(granted, Long.parseLong(Files.readAllLines(RMEM_MAX).get(0).trim()));
    } catch (IOException | RuntimeException notLinux) {
      // Keep the configured size.
    }
    int window = (int) Math.min(granted / 2, cfg.termLength() / 2);
    // A window of one frame stalls the stream (measured); two frames keep it moving.
    return Math.max(window, 2 * cfg.mtu()) / 32 * 32;
  }

  /** The channel a rank sends on to its right neighbour's endpoint. */
  static String publicationChannel(CollectiveConfig cfg, String endpoint) {
    String sizes = "mtu=" + cfg.mtu() + "|term-length=" + cfg.termLength();
    if (endpoint.equals(IPC)) return IPC + "?" + sizes;
    return "aeron:udp?endpoint=" + endpoint + "|" + sizes + "|so-sndbuf=" + cfg.socketBuffer();
  }
}
