package capi.collective;

import capi.config.CollectiveConfig;
import capi.config.CollectiveConfig.Channel;
import capi.config.CollectiveConfig.Ring;
import capi.config.CollectiveConfig.SameHost;
import java.util.List;

/**
 * What the ranks of one JVM share: the rendezvous of shared-memory groups, one per generation; the
 * embedded Aeron media driver when a ring needs one (ipc, or udp with ring = aeron); and with udp and
 * capi.collective.same-host = shm the node's same-host token file (NodeToken), which its udp
 * endpoints name so that ranks of one host find each other. One per JVM and node. It hands each
 * implementation what it needs (its group, the token files, the Aeron node, the configuration);
 * none calls back into it.
 */
public final class CollectiveNode implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(CollectiveNode.class.getName());

  private final CollectiveConfig cfg;
  private final WireFormat wire;
  private final String name;
  private AeronNode aeron; // null unless a ring runs over Aeron (ipc, or udp with ring = aeron); guarded by this (replaced by liveAeron)
  private int aeronRestarts; // guarded by this
  private final NodeToken token; // null unless udp with same-host = shm
  private final Rendezvous.Groups groups = new Rendezvous.Groups();

  private CollectiveNode(CollectiveConfig cfg, WireFormat wire, String name, AeronNode aeron, NodeToken token) {
    this.cfg = cfg;
    this.wire = wire;
    this.name = name;
    this.aeron = aeron;
    this.token = token;
  }

  /**
   * Starts the node's media driver when a ring runs over Aeron (channel ipc, or udp with ring =
   * aeron), and with udp and same-host = shm writes its token file (deleting the group and token files of processes
   * that no longer run).
   */
  public static CollectiveNode start(CollectiveConfig cfg, String nodeName) {
    return start(cfg, WireFormat.valueOf(cfg.wireFormat().name()), nodeName);
  }

  /** As {@link #start(CollectiveConfig, String)}, with rings (udp and ipc) that send in {@code wire}'s format (not the configured one). */
  public static CollectiveNode start(CollectiveConfig cfg, WireFormat wire, String nodeName) {
    boolean needsAeron = cfg.channel() == Channel.IPC || (cfg.channel() == Channel.UDP && cfg.ring() == Ring.AERON);
    AeronNode aeron = needsAeron ? AeronNode.start(cfg, nodeName) : null;
    if (cfg.channel() != Channel.UDP || cfg.sameHost() != SameHost.SHM) return new CollectiveNode(cfg, wire, nodeName, aeron, null);
    try {
      ShmFiles.deleteThoseOfDeadProcesses(ShmFiles.base(cfg), MappedGroup.PREFIX);
      return new CollectiveNode(cfg, wire, nodeName, aeron, NodeToken.create(ShmFiles.base(cfg)));
    } catch (RuntimeException e) {
      if (aeron != null) aeron.close();
      throw e;
    }
  }

  public CollectiveConfig config() {
    return cfg;
  }

  /** This node's same-host token file, for its udp endpoints (Endpoint.Udp); "" when it has none. */
  public String token() {
    return token == null ? "" : token.path().toString();
  }

  /**
   * Joins an all-reduce group as {@code rank}, with the implementation {@link AllReducePlan#choose}
   * picks from the endpoints: shared memory, a mapped file, hierarchical or a ring (over Aeron, or
   * over TCP between udp endpoints with capi.collective.ring = tcp). Every
   * rank joins at the same time with the same generation and endpoints; see RingAllReduce.join.
   *
   * @throws IllegalArgumentException when the endpoints mix kinds
   * @throws IllegalStateException when they need Aeron and this node's channel is memory
   */
  public AllReduce join(int generation, int rank, List<Endpoint> endpoints, int maxFloats) {
    AllReducePlan plan = AllReducePlan.choose(endpoints, cfg.sameHost() == SameHost.SHM, NodeToken::find);
    long timeoutNs = cfg.timeout().toNanos();
    if (plan instanceof AllReducePlan.SharedMemory) {
      return SharedMemoryAllReduce.join(groups, timeoutNs, generation, rank, endpoints.size(), maxFloats);
    }
    if (plan instanceof AllReducePlan.MappedFile mapped) {
      return MappedAllReduce.join(mapped.tokens(), generation, rank, cfg.shmChunkBytes(), timeoutNs, maxFloats);
    }
    if (plan instanceof AllReducePlan.Hierarchical h) {
      return HierarchicalAllReduce.join(this::ring, cfg, generation, rank, endpoints, h.hosts(), maxFloats);
    }
    return ring(generation, rank, ((AllReducePlan.Ring) plan).endpoints(), maxFloats);
  }

  /** A flat ring: over TCP between udp endpoints when capi.collective.ring = tcp, else over Aeron. */
  private AllReduce ring(int generation, int rank, List<Endpoint> endpoints, int maxFloats) {
    if (cfg.ring() == Ring.TCP && endpoints.get(0) instanceof Endpoint.Udp) {
      return TcpRingAllReduce.join(wire, cfg.timeout().toNanos(), generation, rank, endpoints, maxFloats);
    }
    return RingAllReduce.join(liveAeron(endpoints), cfg, wire, generation, rank, endpoints, maxFloats);
  }

  /**
   * The node's Aeron media driver and client; started anew (once: every rank of this JVM that joins
   * after it gets the new one) when the client has closed itself. AeronNode's timeouts keep a
   * paused process's client open; should it close nevertheless, no ring could be joined again.
   * Rings of the old one keep their AeronNode, closed here: closing them later touches nothing new.
   */
  synchronized AeronNode liveAeron(List<Endpoint> endpoints) {
    if (aeron == null) {
      throw new IllegalStateException("endpoints " + endpoints + " need Aeron; this node runs no media driver (channel "
          + cfg.channel() + ", ring " + cfg.ring() + ")");
    }
    if (aeron.isClosed()) {
      LOG.log(System.Logger.Level.WARNING, "node " + name + ": its Aeron client is closed (its fatal error: "
          + aeron.fatalError() + "); restarting its media driver and client");
      AeronNode old = aeron;
      aeron = AeronNode.start(cfg, name); // before old.close(): should it fail, the next join tries again
      aeronRestarts++;
      old.close(); // frees its udp ports before any rank of the new one binds them
    }
    return aeron;
  }

  /** How often liveAeron started the node's Aeron anew. */
  synchronized int aeronRestarts() {
    return aeronRestarts;
  }

  /** Stops the media driver and deletes the token file. */
  @Override
  public synchronized void close() {
    if (token != null) token.delete();
    if (aeron != null) aeron.close();
  }
}
