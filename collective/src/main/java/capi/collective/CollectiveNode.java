package capi.collective;

import capi.config.CollectiveConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the ranks of one JVM share: the rendezvous of shared-memory groups, one per generation,
 * and the embedded Aeron media driver when the channel needs one (ipc, udp). One per JVM and node.
 */
public final class CollectiveNode implements AutoCloseable {
  private final CollectiveConfig cfg;
  private final AeronNode aeron; // null for channel = memory
  private final Map<Integer, Rendezvous> groups = new HashMap<>(); // guarded by this

  private CollectiveNode(CollectiveConfig cfg, AeronNode aeron) {
    this.cfg = cfg;
    this.aeron = aeron;
  }

  /** Starts the node's media driver unless the channel is memory (which needs none). */
  public static CollectiveNode start(CollectiveConfig cfg, String nodeName) {
    return new CollectiveNode(cfg, cfg.channel().equals("memory") ? null : AeronNode.start(cfg, nodeName));
  }

  /**
   * Joins an all-reduce group as {@code rank}: shared memory when every endpoint is
   * {@link RingEndpoints#MEMORY} (all ranks in this JVM), else a ring over Aeron. Every rank joins
   * at the same time with the same generation and endpoints; see RingAllReduce.join.
   */
  public AllReduce join(int generation, int rank, List<String> endpoints, int maxFloats) {
    if (endpoints.stream().allMatch(RingEndpoints.MEMORY::equals)) {
      return SharedMemoryAllReduce.join(this, cfg.timeout().toNanos(), generation, rank, endpoints.size(), maxFloats);
    }
    if (aeron == null) throw new IllegalStateException("endpoints " + endpoints + " need Aeron; this node's channel is memory");
    return RingAllReduce.join(aeron, cfg, generation, rank, endpoints, maxFloats);
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

  @Override
  public void close() {
    if (aeron != null) aeron.close();
  }
}
