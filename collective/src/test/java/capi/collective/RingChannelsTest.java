package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Endpoints as the configuration makes them, and the Aeron channels a ring opens for them. */
class RingChannelsTest {
  private static final CollectiveConfig UDP =
      Ranks.config(Map.of("channel", "udp", "udp-port-base", "41000"));

  @Test
  void memoryAndIpcRanksShareTheNodeAndUdpRanksGetOnePortEach() {
    assertEquals(List.of(Endpoint.MEMORY, Endpoint.MEMORY), Endpoint.local(Ranks.config(Map.of()), "", 2));
    assertEquals(List.of(Endpoint.IPC, Endpoint.IPC), Endpoint.local(Ranks.config(Map.of("channel", "ipc")), "", 2));
    assertEquals(List.of(new Endpoint.Udp("127.0.0.1", 41000), new Endpoint.Udp("127.0.0.1", 41001), new Endpoint.Udp("127.0.0.1", 41002)),
        Endpoint.local(UDP, "", 3));
    String file = "/dev/shm/capi-node-12-00000000000000ab";
    assertEquals(new Endpoint.Udp("10.0.0.7", 41005, file), Endpoint.of(UDP, "10.0.0.7", file, 5));
    assertEquals("10.0.0.7:41005", Endpoint.of(UDP, "10.0.0.7", file, 5).address());
  }

  @Test
  void aRingListensOnItsOwnAddressWithoutTheTokenAndSendsToItsNeighbours() {
    Endpoint.Udp udp = new Endpoint.Udp("10.0.0.7", 41005, "/dev/shm/capi-node-12-00000000000000ab");
    String in = RingChannels.subscription(UDP, udp);
    String out = RingChannels.publication(UDP, udp);
    assertTrue(in.startsWith("aeron:udp?endpoint=10.0.0.7:41005|") && !in.contains("capi-node"), in);
    assertTrue(out.startsWith("aeron:udp?endpoint=10.0.0.7:41005|mtu=") && !out.contains("capi-node"), out);
    assertTrue(RingChannels.publication(UDP, Endpoint.IPC).startsWith("aeron:ipc?mtu="));
    assertEquals("aeron:ipc", RingChannels.subscription(UDP, Endpoint.IPC));
    assertThrows(IllegalArgumentException.class, () -> RingChannels.subscription(UDP, Endpoint.MEMORY));
    assertThrows(IllegalArgumentException.class, () -> new Endpoint.Udp("10.0.0.7", 0));
  }

  @Test
  void theReceiveWindowFitsTheSocketAndTheTermButHoldsTwoFrames() {
    CollectiveConfig cfg = Ranks.config(Map.of("mtu", "8192", "term-length", "131072"));
    int window = RingChannels.receiveWindow(cfg);
    assertTrue(window <= cfg.termLength() / 2 && window <= cfg.socketBuffer() / 2, "window " + window);
    assertTrue(window >= 2 * cfg.mtu(), "window " + window);
  }
}
