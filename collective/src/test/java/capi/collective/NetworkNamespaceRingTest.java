package capi.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two hosts on one machine: two network namespaces (NetworkNamespaces: veths to a bridge, MTU 1500,
 * so each 64 KiB Aeron frame crosses as IP fragments), one child JVM per namespace (UdpRingPeer), a
 * ring over Aeron udp or over TCP between them; both ranks' results equal the reference bit for bit. Skipped, with the
 * reason, where namespaces cannot be created (not root, no iproute2). The namespaces are deleted
 * whatever happens.
 */
class NetworkNamespaceRingTest {
  private static final int COUNT = 1_000_003; // 8 chunks of 64 KiB per ring step, ragged last one
  private static final int CALLS = 4;
  private static final long BOUND_S = 120;

  @TempDir Path base;

  @ParameterizedTest
  @CsvSource({"aeron,RingAllReduce", "tcp,TcpRingAllReduce"})
  void twoJvmsInTwoNamespacesGetTheReferenceBitForBit(String ring, String implementation) throws Exception {
    assumeTrue(NetworkNamespaces.unavailable().isEmpty(), () -> NetworkNamespaces.unavailable().get());
    List<Process> ranks = new ArrayList<>();
    try (NetworkNamespaces hosts = NetworkNamespaces.create(2)) {
      try {
        for (int r = 0; r < 2; r++) {
          List<String> cmd = new ArrayList<>(hosts.command(r));
          cmd.addAll(Ranks.javaCommand(UdpRingPeer.class, base.toString(), hosts.address(0), hosts.address(1), String.valueOf(r),
              String.valueOf(COUNT), String.valueOf(CALLS), ring));
          ranks.add(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        }
        String want = "result " + Arrays.hashCode(MappedPeer.reference(CALLS - 1, COUNT, MappedPeer.opOf(CALLS - 1)))
            + " " + implementation;
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
      }
    }
  }
}
