package capi.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The all-reduce ({@code capi.collective.*} in reference.conf).
 *
 * @param aeronDir base directory of the per-node Aeron directories and same-host files ("" = /dev/shm when present and writable, else java.io.tmpdir)
 * @param channel memory (ranks of one JVM read each other's buffers), ipc (a ring through the
 *     node's media driver) or udp (ranks in other processes: the mapped file on one host, see sameHost, else a ring over udp)
 * @param udpHost this node's address for udp endpoints, where its ranks receive ("" in reference.conf: the
 *     cluster host, else 127.0.0.1); the ring's sockets bind this address only
 * @param udpPortBase rank r receives on udp port udpPortBase + r
 * @param streamIdBase rank r receives on stream streamIdBase + r
 * @param mtu bytes of one Aeron frame; every chunk of the all-reduce is one frame
 * @param termLength bytes of one term of a publication's log (a power of two)
 * @param socketBuffer udp socket send and receive buffer in bytes
 * @param threadingMode media driver threads: shared | shared-network | dedicated | invoker (none:
 *     the ranks run the driver while they wait in an all-reduce)
 * @param timeout a peer silent for this long fails the all-reduce
 * @param sameHost udp ranks whose processes share this host: shm (they all-reduce through a
 *     memory-mapped file; on several hosts, hierarchically: the file within each host, a ring of
 *     the hosts' leaders) or ring (the flat udp ring everywhere, over loopback within a host)
 * @param shmChunkBytes bytes of one slot of the mapped file (shm): the all-reduce moves a buffer
 *     through it in chunks of this size
 * @param wireFormat how a ring (udp, ipc) sends values: fp32, or bf16 rounded to nearest even
 * @param ring what carries a ring between udp endpoints (the flat ring, the leaders' ring of a
 *     hierarchical group): aeron (Aeron udp datagrams of one mtu) or tcp (one connection to each
 *     neighbour at the same host and port)
 */
public record CollectiveConfig(
    String aeronDir,
    Channel channel,
    String udpHost,
    int udpPortBase,
    int streamIdBase,
    int mtu,
    int termLength,
    int socketBuffer,
    ThreadingMode threadingMode,
    Duration timeout,
    SameHost sameHost,
    int shmChunkBytes,
    Wire wireFormat,
    Ring ring) {

  /** Transport between ranks. */
  public enum Channel implements Choice { MEMORY, IPC, UDP }

  /** How udp ranks whose processes share a host all-reduce. */
  public enum SameHost implements Choice { SHM, RING }

  /** Values on a ring's wire: float32, or bf16 (half the bytes; ranks still add in float32). */
  public enum Wire implements Choice { FP32, BF16 }

  /** What carries a ring between udp endpoints. */
  public enum Ring implements Choice { AERON, TCP }

  /** The media driver's threads. */
  public enum ThreadingMode implements Choice { INVOKER, SHARED, SHARED_NETWORK, DEDICATED }

  private static final String P = "capi.collective.";
  /** Aeron's largest frame (a UDP datagram's payload). */
  private static final int MAX_MTU = 65504;
  /** Mapped slots are whole pages, so every slot starts page- (and cache-line-) aligned. */
  private static final int PAGE = 4096;

  /** Reads and validates {@code capi.collective} of a resolved tree; an empty udp-host is {@code nodeAddress}. */
  static CollectiveConfig from(Config c, String nodeAddress) {
    int mtu = Values.positiveInt(c, P + "mtu");
    if (mtu < 1024 || mtu > MAX_MTU || mtu % 32 != 0) {
      throw BadConfigException.of(P + "mtu", mtu, "must be a multiple of 32 in [1024, " + MAX_MTU + "]");
    }
    int term = Values.positiveInt(c, P + "term-length");
    if (Integer.bitCount(term) != 1 || term < 65536 || term > (1 << 30)) {
      throw BadConfigException.of(P + "term-length", term, "must be a power of two in [65536, 1073741824]");
    }
    if (term < 8 * mtu) {
      throw BadConfigException.of(P + "term-length", term, "must be at least 8 x capi.collective.mtu (" + mtu + ")");
    }
    int port = Values.positiveInt(c, P + "udp-port-base");
    if (port > 65000) throw BadConfigException.of(P + "udp-port-base", port, "must be <= 65000");
    int chunk = Values.positiveInt(c, P + "shm-chunk-bytes");
    if (chunk % PAGE != 0 || chunk > (1 << 28)) {
      throw BadConfigException.of(P + "shm-chunk-bytes", chunk, "must be a multiple of " + PAGE + " in [4096, 268435456]");
    }
    return new CollectiveConfig(
        Values.string(c, P + "aeron-dir"),
        Values.choice(c, P + "channel", Channel.class),
        Values.string(c, P + "udp-host").isBlank() ? nodeAddress : Values.string(c, P + "udp-host").trim(),
        port,
        Values.positiveInt(c, P + "stream-id-base"),
        mtu,
        term,
        Values.positiveInt(c, P + "socket-buffer"),
        Values.choice(c, P + "threading-mode", ThreadingMode.class),
        Values.positiveDuration(c, P + "timeout"),
        Values.choice(c, P + "same-host", SameHost.class),
        chunk,
        Values.choice(c, P + "wire-format", Wire.class),
        Values.choice(c, P + "ring", Ring.class));
  }
}
