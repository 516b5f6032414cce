package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The choice of implementation, one case per plan, from endpoints and a made-up view of which
 * token files are valid here (no files, no processes: the choice is a pure function).
 */
class AllReducePlanTest {
  private static final NodeToken A = token("a", 1);
  private static final NodeToken B = token("b", 2);
  /** Token files "a" and "b" are valid here; any other names a file of another host. */
  private static final Function<String, Optional<NodeToken>> HERE = file -> Optional.ofNullable(Map.of("a", A, "b", B).get(file));

  private static NodeToken token(String file, long value) {
    return new NodeToken(Path.of(file), 100 + value, value, ProcessHandle.current());
  }

  private static Endpoint.Udp udp(String host, int rank, String token) {
    return new Endpoint.Udp(host, 40000 + rank, token);
  }

  @Test
  void memoryEndpointsShareMemory() {
    assertEquals(new AllReducePlan.SharedMemory(), AllReducePlan.choose(List.of(Endpoint.MEMORY, Endpoint.MEMORY), true, HERE));
  }

  @Test
  void udpRanksWhoseTokensAreAllValidHereMeetInAMappedFile() {
    List<Endpoint> endpoints = List.of(udp("10.0.0.1", 0, "a"), udp("10.0.0.1", 1, "b"), udp("10.0.0.1", 2, "a"));
    assertEquals(new AllReducePlan.MappedFile(List.of(A, B, A)), AllReducePlan.choose(endpoints, true, HERE));
  }

  @Test
  void severalHostsWithSeveralRanksOnOneGoHierarchicalWhateverIsValidHere() {
    List<Endpoint> endpoints = List.of(udp("10.0.0.1", 0, "a"), udp("10.0.0.2", 1, "x"), udp("10.0.0.1", 2, "a"),
        udp("10.0.0.3", 3, "y"), udp("10.0.0.2", 4, "x"));
    assertEquals(new AllReducePlan.Hierarchical(List.of(List.of(0, 2), List.of(1, 4), List.of(3))),
        AllReducePlan.choose(endpoints, true, HERE));
  }

  @Test
  void otherwiseTheRing() {
    List<Endpoint> ipc = List.of(Endpoint.IPC, Endpoint.IPC);
    assertEquals(new AllReducePlan.Ring(ipc), AllReducePlan.choose(ipc, true, HERE));
    List<List<Endpoint>> rings = List.of(
        List.of(udp("10.0.0.1", 0, "a"), udp("10.0.0.1", 1, "x")), // rank 1's token is another host's
        List.of(udp("10.0.0.1", 0, "a"), udp("10.0.0.2", 1, "x")), // one rank per host
        List.of(udp("10.0.0.1", 0, "a"), udp("10.0.0.1", 1, ""), udp("10.0.0.2", 2, "x"))); // a rank without a token
    for (List<Endpoint> endpoints : rings) assertEquals(new AllReducePlan.Ring(endpoints), AllReducePlan.choose(endpoints, true, HERE));
    List<Endpoint> sameHost = List.of(udp("10.0.0.1", 0, "a"), udp("10.0.0.1", 1, "b"), udp("10.0.0.2", 2, "x"), udp("10.0.0.2", 3, "x"));
    assertEquals(new AllReducePlan.Ring(sameHost), AllReducePlan.choose(sameHost, false, HERE), "same-host = ring");
  }

  @Test
  void endpointsOfDifferentKindsAreRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AllReducePlan.choose(List.of(Endpoint.MEMORY, udp("10.0.0.1", 1, "")), true, HERE));
    assertTrue(e.getMessage().contains("different kinds"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> AllReducePlan.choose(List.of(), true, HERE));
  }
}
