package capi.collective;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Which all-reduce a group runs, and what that implementation needs from the endpoints:
 * {@link #choose} is one pure function of the group's endpoints, the same-host mode and where
 * token files are valid. Every rank of a group decides alike, because the endpoints are the same
 * for all, and the token files of one host are valid for all of its ranks.
 */
sealed interface AllReducePlan {

  /** Every endpoint is memory: the ranks are threads of this JVM (SharedMemoryAllReduce). */
  record SharedMemory() implements AllReducePlan {}

  /** Every rank's token file is valid here: the ranks are processes of this host (MappedAllReduce). */
  record MappedFile(List<NodeToken> tokens) implements AllReducePlan {}

  /**
   * Udp ranks with token files on two or more hosts, several ranks on at least one
   * (HierarchicalAllReduce): a mapped file within each host, a ring of the hosts' leaders.
   *
   * @param hosts each host's global ranks in rank order, hosts in the order of their lowest rank
   *     (the leader): ranks whose endpoints have the same host are on one host
   */
  record Hierarchical(List<List<Integer>> hosts) implements AllReducePlan {}

  /** Anything else: a ring over Aeron, ipc or udp, through these endpoints (RingAllReduce). */
  record Ring(List<Endpoint> endpoints) implements AllReducePlan {}

  /**
   * The plan of a group with these endpoints.
   *
   * @param shareMemory capi.collective.same-host = shm: udp ranks of one host may meet in a mapped
   *     file (else the flat ring everywhere)
   * @param tokenHere the token a token file names when it is valid on this host ({@link NodeToken#find})
   * @throws IllegalArgumentException when the endpoints mix kinds (memory, ipc, udp)
   */
  static AllReducePlan choose(List<Endpoint> endpoints, boolean shareMemory, Function<String, Optional<NodeToken>> tokenHere) {
    if (endpoints.isEmpty()) throw new IllegalArgumentException("a group needs at least one endpoint");
    Class<?> kind = endpoints.get(0).getClass();
    if (endpoints.stream().anyMatch(e -> e.getClass() != kind)) {
      throw new IllegalArgumentException("endpoints of different kinds in one group: " + endpoints);
    }
    if (kind == Endpoint.Memory.class) return new SharedMemory();
    if (kind == Endpoint.Ipc.class || !shareMemory) return new Ring(List.copyOf(endpoints));
    List<Endpoint.Udp> udp = endpoints.stream().map(Endpoint.Udp.class::cast).toList();
    if (udp.stream().noneMatch(e -> e.token().isEmpty())) {
      List<List<Integer>> hosts = byHost(udp);
      if (hosts.size() > 1 && hosts.stream().anyMatch(h -> h.size() > 1)) return new Hierarchical(hosts);
      if (udp.size() <= MappedGroup.MAX_RANKS) {
        List<NodeToken> tokens = new ArrayList<>(udp.size());
        for (Endpoint.Udp e : udp) tokenHere.apply(e.token()).ifPresent(tokens::add);
        if (tokens.size() == udp.size()) return new MappedFile(tokens);
      }
    }
    return new Ring(List.copyOf(endpoints));
  }

  /** The ranks of each host, in rank order, hosts in the order of their lowest rank. */
  private static List<List<Integer>> byHost(List<Endpoint.Udp> endpoints) {
    Map<String, List<Integer>> hosts = new LinkedHashMap<>();
    for (int r = 0; r < endpoints.size(); r++) hosts.computeIfAbsent(endpoints.get(r).host(), h -> new ArrayList<>()).add(r);
    return hosts.values().stream().map(List::copyOf).toList();
  }
}
