package capi.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The all-reduce ({@code capi.collective.*} in reference.conf).
 *
 * @param aeronDir base directory of the per-node Aeron directories ("" = /dev/shm, else java.io.tmpdir)
 * @param channel memory (ranks of one JVM read each other's buffers), ipc (a ring through the
 *     node's media driver) or udp (a ring over udp: ranks in other processes or on other nodes)
 * @param udpHost this node's address for udp endpoints
 * @param udpPortBase rank r receives on udp port udpPortBase + r
 * @param streamIdBase rank r receives on stream streamIdBase + r
 * @param mtu bytes of one Aeron frame; every chunk of the all-reduce is one frame
 * @param termLength bytes of one term of a publication's log (a power of two)
 * @param socketBuffer udp socket send and receive buffer in bytes
 * @param threadingMode media driver threads: shared | shared-network | dedicated | invoker (none:
 *     the ranks run the driver while they wait in an all-reduce)
 * @param timeout a peer silent for this long fails the all-reduce
 */
public record CollectiveConfig(
    String aeronDir,
    String channel,
    String udpHost,
    int udpPortBase,
    int streamIdBase,
    int mtu,
    int termLength,
    int socketBuffer,
    String threadingMode,
    Duration timeout) {

  private static final String P = "capi.collective.";
  /** Aeron's largest frame (a UDP datagram's payload). */
  private static final int MAX_MTU = 65504;

  /** Reads and validates {@code capi.collective} of a loaded configuration. */
  public static CollectiveConfig from(Config c) {
    int mtu = CapiConfig.positiveInt(c, P + "mtu");
    if (mtu < 1024 || mtu > MAX_MTU || mtu % 32 != 0) {
      throw BadConfigException.of(P + "mtu", mtu, "must be a multiple of 32 in [1024, " + MAX_MTU + "]");
    }
    int term = CapiConfig.positiveInt(c, P + "term-length");
    if (Integer.bitCount(term) != 1 || term < 65536 || term > (1 << 30)) {
      throw BadConfigException.of(P + "term-length", term, "must be a power of two in [65536, 1073741824]");
    }
    if (term < 8 * mtu) {
      throw BadConfigException.of(P + "term-length", term, "must be at least 8 x capi.collective.mtu (" + mtu + ")");
    }
    int port = CapiConfig.positiveInt(c, P + "udp-port-base");
    if (port > 65000) throw BadConfigException.of(P + "udp-port-base", port, "must be <= 65000");
    return new CollectiveConfig(
        c.getString(P + "aeron-dir"),
        CapiConfig.oneOf(c, P + "channel", "memory", "ipc", "udp"),
        c.getString(P + "udp-host"),
        port,
        CapiConfig.positiveInt(c, P + "stream-id-base"),
        mtu,
        term,
        CapiConfig.positiveInt(c, P + "socket-buffer"),
        CapiConfig.oneOf(c, P + "threading-mode", "shared", "shared-network", "dedicated", "invoker"),
        CapiConfig.positiveDuration(c, P + "timeout"));
  }
}
