package capi.collective;

import capi.config.CollectiveConfig;
import capi.config.CollectiveConfig.Channel;
import capi.config.CollectiveConfig.SameHost;
import java.util.List;

/**
 * What the ranks of one JVM share: the rendezvous of shared-memory groups, one per generation; the
 * embedded Aeron media driver when the channel needs one (ipc, udp); and with udp and
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
  private AeronNode aeron; // null for channel = memory; guarded by this (replaced by liveAeron)
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
   * Starts the node's media driver unless the channel is memory (which needs none), and with udp
   * and same-host = shm writes its token file (deleting the group and token files of processes
   * that no longer run).
   */
  public static CollectiveNode start(CollectiveConfig cfg, String nodeName) {
    return start(cfg, WireFormat.valueOf(cfg.wireFormat().name()), nodeName);
  }

  /** As {@link #start(CollectiveConfig, String)}, with rings (udp and ipc) that send in {@code wire}'s format (not the configured one). */
  public static CollectiveNode start(CollectiveConfig cfg, WireFormat wire, String nodeName) {
    if (cfg.channel() == Channel.MEMORY) return new CollectiveNode(cfg, wire, nodeName, null, null);
    AeronNode aeron = AeronNode.start(cfg, nodeName);
    if (cfg.channel() != Channel.UDP || cfg.sameHost() != SameHost.SHM) return new CollectiveNode(cfg, wire, nodeName, aeron, null);
    try {
      ShmFiles.deleteThoseOfDeadProcesses(ShmFiles.base(cfg), MappedGroup.PREFIX);
      return new CollectiveNode(cfg, wire, nodeName, aeron, NodeToken.create(ShmFiles.base(cfg)));
    } catch (RuntimeException e) {
      aeron.close();
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
   * picks from the endpoints: shared memory, a mapped file, hierarchical or a ring over Aeron. Every
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
    AeronNode aeron = liveAeron(endpoints);
    if (plan instanceof AllReducePlan.Hierarchical h) {
      return HierarchicalAllReduce.join(aeron, cfg, wire, generation, rank, endpoints, h.hosts(), maxFloats);
    }
    return RingAllReduce.join(aeron, cfg, wire, generation, rank, ((AllReducePlan.Ring) plan).endpoints(), maxFloats);
  }

  /**
   * The node's Aeron media driver and client; started anew (once: every rank of this JVM that joins
   * after it gets the new one) when the client has closed itself. AeronNode's timeouts keep a
   * paused process's client open; should it close nevertheless, no ring could be joined again.
   * Rings of the old one keep their AeronNode, closed here: closing them later touches nothing new.
   */
  synchronized AeronNode liveAeron(List<Endpoint> endpoints) {
    if (aeron == null) throw new IllegalStateException("endpoints " + endpoints + " need Aeron; this node's channel is memory");
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
