package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RingEndpointsTest {
  @Test
  void memoryAndIpcRanksShareTheNodeAndUdpRanksGetOnePortEach() {
    assertEquals(List.of("memory", "memory"), RingEndpoints.local(Ranks.config(Map.of()), "", 2));
    assertEquals(List.of("aeron:ipc", "aeron:ipc"), RingEndpoints.local(Ranks.config(Map.of("channel", "ipc")), "", 2));
    CollectiveConfig udp = Ranks.config(Map.of("channel", "udp", "udp-port-base", "41000"));
    assertEquals(List.of("127.0.0.1:41000", "127.0.0.1:41001", "127.0.0.1:41002"), RingEndpoints.local(udp, "", 3));
    assertEquals("10.0.0.7:41005", RingEndpoints.of(udp, "10.0.0.7", "", 5));
    String withToken = RingEndpoints.of(udp, "10.0.0.7", "/dev/shm/capi-node-12-00000000000000ab", 5);
    assertEquals("10.0.0.7:41005#shm=/dev/shm/capi-node-12-00000000000000ab", withToken);
    assertEquals("10.0.0.7:41005", RingEndpoints.address(withToken));
    assertEquals("/dev/shm/capi-node-12-00000000000000ab", RingEndpoints.sameHostFile(withToken));
    assertEquals("", RingEndpoints.sameHostFile("10.0.0.7:41005"));
  }

  @Test
  void theReceiveWindowFitsTheSocketAndTheTermButHoldsTwoFrames() {
    CollectiveConfig cfg = Ranks.config(Map.of("mtu", "8192", "term-length", "131072"));
    int window = RingEndpoints.receiveWindow(cfg);
    assertTrue(window <= cfg.termLength() / 2 && window <= cfg.socketBuffer() / 2, "window " + window);
    assertTrue(window >= 2 * cfg.mtu(), "window " + window);
  }
}
