package capi.collective;

import capi.config.CollectiveConfig;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.agrona.BufferUtil;

/**
 * One rank of an all-reduce over several hosts with several ranks on some: the ranks of a host
 * meet in a mapped file ({@link MappedAllReduce}), and only each host's leader, its lowest rank,
 * talks to the other hosts, in a ring of the leaders (RingAllReduce or TcpRingAllReduce, ring rank i = the
 * i-th host's leader, over the leaders' own endpoints). A call of S bytes:
 * <ol>
 *   <li>the host's ranks reduce into the leader's buffer through the mapped file (SUM for AVG);
 *   <li>the leaders all-reduce their hosts' sums over the ring (SUM for AVG); for AVG each leader
 *       divides by the world size once;
 *   <li>the leader broadcasts its result to the host's ranks through the mapped file.
 * </ol>
 * The ring gives every leader the same bits and the other ranks copy their leader's, so all ranks
 * end bit-identical. Each host's network carries one ring rank's traffic, 2(H-1)/H · S per call
 * for H hosts, instead of that of each of its ranks, and ranks of one host never exchange
 * datagrams. No allocation per call.
 *
 * <p>Failures: a failure within the host breaks the mapped group (MappedGroup), and the host's
 * other ranks fail at once. When the leader's ring fails (or cannot be joined), the leader breaks
 * its mapped group too, so its ranks fail at once; the other hosts' leaders see silence and fail
 * after the timeout, and break their groups in turn. The host's ranks wait for their leader's ring
 * at the broadcast's first barrier with the same timeout, so a ring call must take less than it.
 * A CollectiveException's message names the parts' ranks counted from 0, and the prefix maps them
 * to global ranks; its deadRank is global.
 */
public final class HierarchicalAllReduce implements AllReduce {
  private final int rank;
  private final int worldSize;
  private final int maxFloats;
  private final int[] hostRanks; // the global rank of each of this host's ranks; [0] is the leader
  private final int[] leaderRanks; // the global rank of each ring rank
  private final MappedAllReduce host;
  private final AllReduce leaders; // null unless this rank leads its host
  private final String who;
  private String brokenBy;
  private boolean closed;

  private HierarchicalAllReduce(int rank, int worldSize, int maxFloats, int[] hostRanks, int[] leaderRanks,
      MappedAllReduce host, AllReduce leaders, String who) {
    this.rank = rank;
    this.worldSize = worldSize;
    this.maxFloats = maxFloats;
    this.hostRanks = hostRanks;
    this.leaderRanks = leaderRanks;
    this.host = host;
    this.leaders = leaders;
    this.who = who;
  }

  /** Joins the leaders' ring: a flat ring of these endpoints (CollectiveNode's, over Aeron or TCP). */
  interface RingJoin {
    AllReduce join(int generation, int rank, List<Endpoint> endpoints, int maxFloats);
  }

  /**
   * Joins generation {@code generation} as {@code rank}: the mapped group of this rank's host
   * (named by its leader's token, so the groups of different hosts never share a file), then, as
   * a leader, the leaders' ring that {@code ring} joins; returns once every rank of every host has
   * joined.
   *
   * @param endpoints every rank's udp endpoint, each naming its node's token file
   * @param hosts each host's global ranks, in rank order (AllReducePlan.Hierarchical)
   * @throws IllegalStateException when a rank of this host names a token file that is not valid
   *     here: the host's ranks cannot share memory, and the join cannot succeed
   */
  static HierarchicalAllReduce join(RingJoin ring, CollectiveConfig cfg, int generation, int rank,
      List<Endpoint> endpoints, List<List<Integer>> hosts, int maxFloats) {
    int n = endpoints.size();
    if (rank < 0 || rank >= n) throw new IllegalArgumentException("rank " + rank + " not in [0, " + n + ")");
    int[] hostRanks = hosts.stream().filter(h -> h.contains(rank)).findFirst().orElseThrow()
        .stream().mapToInt(Integer::intValue).toArray();
    int[] leaderRanks = hosts.stream().mapToInt(h -> h.get(0)).toArray();
    String who = "rank " + rank + " of " + n + " (generation " + generation + ", hierarchical; counted from 0 below: this host's ranks "
        + Arrays.toString(hostRanks) + ", the leaders " + Arrays.toString(leaderRanks) + ")";
    List<NodeToken> tokens = new ArrayList<>(hostRanks.length);
    for (int r : hostRanks) {
      Endpoint.Udp e = (Endpoint.Udp) endpoints.get(r);
      tokens.add(NodeToken.find(e.token()).orElseThrow(() -> new IllegalStateException(who + ": rank " + r + " ("
          + e.address() + ") has this rank's host address, but its token file " + e.token()
          + " is not valid here, so their processes cannot share a mapped file (containers with one address and"
          + " separate /dev/shm?); set capi.collective.same-host=ring to run the udp ring between all ranks")));
    }
    int local = indexOf(hostRanks, rank);
    MappedAllReduce host;
    try {
      host = MappedAllReduce.join(tokens, generation, local, cfg.shmChunkBytes(), cfg.timeout().toNanos(), maxFloats);
    } catch (CollectiveException e) {
      throw failure(who, e, hostRanks);
    }
    AllReduce leaders = null;
    if (local == 0) {
      List<Endpoint> leaderEndpoints = Arrays.stream(leaderRanks).mapToObj(endpoints::get).toList();
      try {
        leaders = ring.join(generation, indexOf(leaderRanks, rank), leaderEndpoints, maxFloats);
      } catch (RuntimeException e) {
        host.breakForFailureOutside(); // the host's ranks wait for the ring: they fail at once
        host.close();
        throw e instanceof CollectiveException c ? failure(who, c, leaderRanks) : e;
      }
    }
    HierarchicalAllReduce member = new HierarchicalAllReduce(rank, n, maxFloats, hostRanks, leaderRanks, host, leaders, who);
    try {
      host.awaitAll(); // the leader's ring is up
      return member;
    } catch (CollectiveException e) {
      member.close();
      throw failure(who, e, hostRanks);
    }
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int worldSize() {
    return worldSize;
  }

  @Override
  public void allReduce(ByteBuffer buffer, int count, ReduceOp op) {
    if (closed || brokenBy != null) {
      throw new CollectiveException(who + (closed ? ": closed" : ": group is broken (" + brokenBy + "); join again"));
    }
    AllReduce.checkArguments(buffer, count, maxFloats);
    if (count == 0) return;
    ReduceOp partial = op == ReduceOp.AVG ? ReduceOp.SUM : op; // AVG divides once, by the global world size
    try {
      host.reduceToRankZero(buffer, count, partial);
    } catch (CollectiveException e) {
      throw broken(e, hostRanks);
    }
    if (leaders != null) {
      try {
        leaders.allReduce(buffer, count, partial);
      } catch (CollectiveException e) {
        host.breakForFailureOutside(); // the host's ranks wait for this result: they fail at once
        throw broken(e, leaderRanks);
      }
      if (op == ReduceOp.AVG) ReduceOp.divide(BufferUtil.address(buffer), count * Float.BYTES, worldSize);
    }
    try {
      host.broadcastFromRankZero(buffer, count);
    } catch (CollectiveException e) {
      throw broken(e, hostRanks);
    }
  }

  /** Closes the ring (a healthy one first sends this rank's last chunks) and leaves the mapped group. Idempotent. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    try {
      if (leaders != null) leaders.close();
    } finally {
      host.close();
    }
  }

  private CollectiveException broken(CollectiveException e, int[] globalRanks) {
    brokenBy = e.getMessage();
    return failure(who, e, globalRanks);
  }

  /** A part's exception as this rank's: {@code globalRanks} maps the part's ranks, and its dead rank, to global ones. */
  private static CollectiveException failure(String who, CollectiveException e, int[] globalRanks) {
    return new CollectiveException(who + ": " + e.getMessage(), e.deadRank() < 0 ? -1 : globalRanks[e.deadRank()]);
  }

  private static int indexOf(int[] ranks, int rank) {
    for (int i = 0; i < ranks.length; i++) if (ranks[i] == rank) return i;
    throw new IllegalArgumentException("rank " + rank + " not in " + Arrays.toString(ranks));
  }
}
