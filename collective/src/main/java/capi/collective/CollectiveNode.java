package capi.collective;

import capi.config.CollectiveConfig;
import capi.config.CollectiveConfig.Channel;
import capi.config.CollectiveConfig.SameHost;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the ranks of one JVM share: the rendezvous of shared-memory groups, one per generation; the
 * embedded Aeron media driver when the channel needs one (ipc, udp); and with udp and
 * capi.collective.same-host = shm the node's same-host token file (NodeToken), which its udp
 * endpoints name so that ranks of one host find each other. One per JVM and node.
 */
public final class CollectiveNode implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(CollectiveNode.class.getName());

  private final CollectiveConfig cfg;
  private final String name;
  private AeronNode aeron; // null for channel = memory; guarded by this (replaced by liveAeron)
  private int aeronRestarts; // guarded by this
  private final NodeToken token; // null unless udp with same-host = shm
  private final Map<Integer, Rendezvous> groups = new HashMap<>(); // guarded by this

  private CollectiveNode(CollectiveConfig cfg, String name, AeronNode aeron, NodeToken token) {
    this.cfg = cfg;
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
    if (cfg.channel() == Channel.MEMORY) return new CollectiveNode(cfg, nodeName, null, null);
    AeronNode aeron = AeronNode.start(cfg, nodeName);
    if (cfg.channel() != Channel.UDP || cfg.sameHost() != SameHost.SHM) return new CollectiveNode(cfg, nodeName, aeron, null);
    try {
      ShmFiles.deleteThoseOfDeadProcesses(ShmFiles.base(cfg), MappedGroup.PREFIX);
      return new CollectiveNode(cfg, nodeName, aeron, NodeToken.create(ShmFiles.base(cfg)));
    } catch (RuntimeException e) {
      aeron.close();
      throw e;
    }
  }

  public CollectiveConfig config() {
    return cfg;
  }

  /** This node's same-host token file, for its udp endpoints (RingEndpoints.of); "" when it has none. */
  public String sameHost() {
    return token == null ? "" : token.path().toString();
  }

  /**
   * Joins an all-reduce group as {@code rank}: shared memory when every endpoint is
   * {@link RingEndpoints#MEMORY} (all ranks in this JVM); HierarchicalAllReduce when the group
   * spans hosts with several ranks on some ({@link #spansHostsWithSeveralRanks}); a mapped file when
   * same-host = shm and every endpoint names a token file valid here (all ranks on this host:
   * MappedAllReduce); else a ring over Aeron. Every rank joins at the same time with the same
   * generation and endpoints; see RingAllReduce.join.
   */
  public AllReduce join(int generation, int rank, List<String> endpoints, int maxFloats) {
    if (endpoints.stream().allMatch(RingEndpoints.MEMORY::equals)) {
      return SharedMemoryAllReduce.join(this, cfg.timeout().toNanos(), generation, rank, endpoints.size(), maxFloats);
    }
    List<int[]> hosts = RingEndpoints.byHost(endpoints);
    if (spansHostsWithSeveralRanks(endpoints, hosts)) {
      return HierarchicalAllReduce.join(this, generation, rank, endpoints, hosts, maxFloats);
    }
    Optional<List<NodeToken>> sameHost = sameHost(endpoints);
    if (sameHost.isPresent()) {
      return MappedAllReduce.join(sameHost.get(), generation, rank, cfg.shmChunkBytes(), cfg.timeout().toNanos(), maxFloats);
    }
    return RingAllReduce.join(liveAeron(endpoints), cfg, generation, rank, endpoints, maxFloats);
  }

  /**
   * The node's Aeron media driver and client; started anew (once: every rank of this JVM that joins
   * after it gets the new one) when the client has closed itself. AeronNode's timeouts keep a
   * paused process's client open; should it close nevertheless, no ring could be joined again.
   * Rings of the old one keep their AeronNode, closed here: closing them later touches nothing new.
   */
  synchronized AeronNode liveAeron(List<String> endpoints) {
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

  /**
   * Whether the group goes hierarchical: same-host = shm, every endpoint names a token file, and
   * its ranks are on two or more hosts (the host part of their addresses) with several on at least
   * one. Decided from the endpoints alone, so every rank decides alike; the join then requires the
   * tokens of its own host's ranks to be valid here. Else the rule before hierarchical all-reduce
   * holds: the mapped file when every token is valid here, the flat ring otherwise.
   */
  boolean spansHostsWithSeveralRanks(List<String> endpoints, List<int[]> hosts) {
    return cfg.sameHost() == SameHost.SHM && hosts.size() > 1 && hosts.stream().anyMatch(h -> h.length > 1)
        && endpoints.stream().noneMatch(e -> RingEndpoints.sameHostFile(e).isEmpty());
  }

  /**
   * Every rank's token, when same-host = shm and every endpoint names a token file valid here.
   * Every rank decides alike: the files and their writers are the same for all ranks of one host.
   */
  Optional<List<NodeToken>> sameHost(List<String> endpoints) {
    if (cfg.sameHost() != SameHost.SHM || endpoints.size() > MappedGroup.MAX_RANKS) return Optional.empty();
    List<NodeToken> tokens = new ArrayList<>(endpoints.size());
    for (String e : endpoints) {
      Optional<NodeToken> t = NodeToken.find(RingEndpoints.sameHostFile(e));
      if (t.isEmpty()) return Optional.empty();
      tokens.add(t.get());
    }
    return Optional.of(tokens);
  }

  synchronized Rendezvous enter(int generation, int rank, int worldSize, long timeoutNs) {
    Rendezvous group = groups.computeIfAbsent(generation, g -> new Rendezvous(g, worldSize, timeoutNs));
    if (!group.claim(rank, worldSize)) {
      throw new IllegalStateException("rank " + rank + " of " + worldSize + " cannot join generation " + generation
          + ": the place is taken or the group has " + group.worldSize + " ranks");
    }
    return group;
  }

  synchronized void leave(Rendezvous group, int rank) {
    if (group.release(rank)) groups.remove(group.generation, group);
  }

  /** Stops the media driver and deletes the token file. */
  @Override
  public synchronized void close() {
    if (token != null) token.delete();
    if (aeron != null) aeron.close();
  }
}
