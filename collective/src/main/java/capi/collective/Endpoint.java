package capi.collective;

import capi.config.CollectiveConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Where one rank of an all-reduce group receives, as the coordinator hands it to every rank of
 * the group (one per rank, in rank order). {@link AllReducePlan#choose} picks the implementation
 * from the group's endpoints alone. Records, so that they cross JVMs (the actors' Kryo
 * serializer) and compare by value.
 */
public sealed interface Endpoint permits Endpoint.Memory, Endpoint.Ipc, Endpoint.Udp {
  Memory MEMORY = new Memory();
  Ipc IPC = new Ipc();

  /** How messages name the endpoint: memory, aeron:ipc, or udp's host:port (without its token file). */
  String address();

  /** The rank is a thread of this JVM: the ranks read each other's buffers (SharedMemoryAllReduce). */
  record Memory() implements Endpoint {
    @Override
    public String address() {
      return "memory";
    }
  }

  /** The rank uses its node's media driver: a ring over Aeron IPC, among ranks of one node. */
  record Ipc() implements Endpoint {
    @Override
    public String address() {
      return "aeron:ipc";
    }
  }

  /**
   * The rank receives udp datagrams on {@code host:port} (its node's address; port
   * {@code udp-port-base + rank}).
   *
   * @param token the node's same-host token file (NodeToken, written when capi.collective.same-host
   *     = shm), "" for none: ranks whose token files are valid on one host share memory there
   */
  record Udp(String host, int port, String token) implements Endpoint {
    public Udp {
      if (host == null || host.isEmpty() || token == null) throw new IllegalArgumentException("udp endpoint needs a host and a token (\"\" = none)");
      if (port < 1 || port > 65535) throw new IllegalArgumentException("udp port " + port + " not in [1, 65535]");
    }

    public Udp(String host, int port) {
      this(host, port, "");
    }

    /** {@code host:port}, as Aeron's channel URIs write it. */
    @Override
    public String address() {
      return host + ":" + port;
    }

    public boolean hasToken() {
      return !token.isEmpty();
    }

    @Override
    public String toString() {
      return address() + (hasToken() ? " (token " + token + ")" : "");
    }
  }

  /**
   * The endpoint of {@code rank} on a node of this configuration whose address is {@code host} and
   * whose same-host token file is {@code token} ("" = none: CollectiveNode.token).
   */
  static Endpoint of(CollectiveConfig cfg, String host, String token, int rank) {
    return switch (cfg.channel()) {
      case MEMORY -> MEMORY;
      case IPC -> IPC;
      case UDP -> new Udp(host, cfg.udpPortBase() + rank, token);
    };
  }

  /** The endpoints of a group whose ranks all run on {@code node} (at its {@code udp-host}). */
  static List<Endpoint> local(CollectiveNode node, int worldSize) {
    return local(node.config(), node.token(), worldSize);
  }

  /** The endpoints of a group whose ranks all run on one node of this configuration, with this token file. */
  static List<Endpoint> local(CollectiveConfig cfg, String token, int worldSize) {
    List<Endpoint> endpoints = new ArrayList<>(worldSize);
    for (int r = 0; r < worldSize; r++) endpoints.add(of(cfg, cfg.udpHost(), token, r));
    return endpoints;
  }
}
