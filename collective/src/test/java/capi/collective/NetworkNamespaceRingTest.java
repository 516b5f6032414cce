package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two hosts on one machine: two network namespaces joined by a veth pair (10.77.0.1 and
 * 10.77.0.2, MTU 1500, so each 64 KiB frame crosses as IP fragments), one child JVM per namespace
 * (UdpRingPeer), a udp ring between them; both ranks' results equal the reference bit for bit.
 * Skipped, with the reason, where namespaces cannot be created (not root, no iproute2). The
 * namespaces' names carry this JVM's pid (other test runs make their own), and they are deleted
 * whatever happens; a namespace's deletion also deletes its end of the veth pair, and so the pair.
 */
class NetworkNamespaceRingTest {
  private static final int COUNT = 1_000_003; // 8 chunks of 64 KiB per ring step, ragged last one
  private static final int CALLS = 4;
  private static final long BOUND_S = 120;
  private static final String[] ADDRESSES = {"10.77.0.1", "10.77.0.2"};

  @TempDir Path base;

  @Test
  void twoJvmsInTwoNamespacesGetTheReferenceBitForBit() throws Exception {
    long pid = ProcessHandle.current().pid();
    String[] ns = {"capi-t" + pid + "-0", "capi-t" + pid + "-1"};
    String[] dev = {"cvt" + pid + "a", "cvt" + pid + "b"};
    assumeTrue(run("ip", "netns", "add", ns[0]) == 0, "cannot create network namespaces here (needs root and iproute2's ip)");
    List<Process> ranks = new ArrayList<>();
    try {
      check("ip", "netns", "add", ns[1]);
      check("ip", "link", "add", dev[0], "netns", ns[0], "type", "veth", "peer", "name", dev[1], "netns", ns[1]);
      for (int i = 0; i < 2; i++) {
        check("ip", "-n", ns[i], "addr", "add", ADDRESSES[i] + "/24", "dev", dev[i]);
        check("ip", "-n", ns[i], "link", "set", dev[i], "up");
        check("ip", "-n", ns[i], "link", "set", "lo", "up");
      }
      for (int r = 0; r < 2; r++) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns[r],
            ProcessHandle.current().info().command().orElse("java"), "-Xmx256m", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"), UdpRingPeer.class.getName(), base.toString(),
            ADDRESSES[0], ADDRESSES[1], String.valueOf(r), String.valueOf(COUNT), String.valueOf(CALLS)));
        ranks.add(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start());
      }
      String want = "result " + Arrays.hashCode(MappedPeer.reference(CALLS - 1, COUNT, MappedPeer.opOf(CALLS - 1)))
          + " RingAllReduce";
      for (int r = 0; r < 2; r++) {
        Process p = ranks.get(r);
        assertTrue(p.waitFor(BOUND_S, TimeUnit.SECONDS), "rank " + r + " did not finish within " + BOUND_S + " s");
        String said = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertEquals(0, p.exitValue(), "rank " + r + " failed; it said " + said);
        assertEquals(want, said, "rank " + r + "'s last result");
      }
    } finally {
      ranks.forEach(Process::destroyForcibly);
      for (Process p : ranks) p.waitFor(10, TimeUnit.SECONDS);
      run("ip", "netns", "del", ns[0]);
      run("ip", "netns", "del", ns[1]);
    }
  }

  private static void check(String... cmd) throws IOException, InterruptedException {
    assertEquals(0, run(cmd), String.join(" ", cmd) + " failed");
  }

  /** Runs a command (output to this JVM's), bounded; its exit status, or -1 when it cannot start. */
  private static int run(String... cmd) throws InterruptedException {
    try {
      Process p = new ProcessBuilder(cmd).inheritIO().start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      return p.exitValue();
    } catch (IOException noIp) {
      return -1;
    }
  }
}
