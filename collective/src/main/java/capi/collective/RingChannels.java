package capi.collective;

import capi.config.CollectiveConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Aeron channels and streams of a ring (RingAllReduce). Rank r listens on stream
 * {@code stream-id-base + r} at its own endpoint: Aeron IPC through its node's media driver, or
 * udp on its {@link Endpoint.Udp#address()}; it sends to its right neighbour's.
 */
final class RingChannels {
  private static final Path RMEM_MAX = Path.of("/proc/sys/net/core/rmem_max");

  private RingChannels() {}

  static int streamId(CollectiveConfig cfg, int rank) {
    return cfg.streamIdBase() + rank;
  }

  /** The channel a rank listens on at its own endpoint. */
  static String subscription(CollectiveConfig cfg, Endpoint endpoint) {
    if (endpoint instanceof Endpoint.Udp udp) {
      return "aeron:udp?endpoint=" + udp.address() + "|so-rcvbuf=" + cfg.socketBuffer() + "|rcv-wnd=" + receiveWindow(cfg);
    }
    return ipc(endpoint);
  }

  /** The channel a rank sends on to its right neighbour's endpoint. */
  static String publication(CollectiveConfig cfg, Endpoint endpoint) {
    String sizes = "mtu=" + cfg.mtu() + "|term-length=" + cfg.termLength();
    if (endpoint instanceof Endpoint.Udp udp) {
      return "aeron:udp?endpoint=" + udp.address() + "|" + sizes + "|so-sndbuf=" + cfg.socketBuffer();
    }
    return ipc(endpoint) + "?" + sizes;
  }

  private static String ipc(Endpoint endpoint) {
    if (endpoint instanceof Endpoint.Ipc) return endpoint.address();
    throw new IllegalArgumentException("a ring runs over ipc or udp endpoints, not " + endpoint);
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
}
