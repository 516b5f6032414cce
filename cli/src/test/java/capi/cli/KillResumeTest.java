package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A run killed with SIGKILL between checkpoints resumes to exactly the uninterrupted run's losses. */
class KillResumeTest {
  @TempDir Path tmp;

  @Test
  @Timeout(600)
  void killedRunResumesExactly() throws Exception {
    List<String> run = List.of("--steps", "12", "--checkpoint-every", "4", "--workers", "2", "--batch-size", "8");
    Path whole = tmp.resolve("whole");
    SmallRuns.train(whole, run.toArray(String[]::new));

    Path killed = tmp.resolve("killed");
    List<String> cmd = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"),
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
        "--add-modules", "jdk.incubator.vector",
        "-Xmx2g", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train",
        "--run-dir", killed.toString()));
    cmd.addAll(SmallRuns.small());
    cmd.addAll(run);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("killed.log").toFile());
    pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Process p = pb.start();
    try {
      // Kill between the checkpoints of steps 4 and 8.
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (SmallRuns.stepsLogged(killed) < 6) {
        assertTrue(p.isAlive(), "the run ended before it could be killed: " + Files.readString(tmp.resolve("killed.log")));
        assertTrue(System.nanoTime() < deadline, "no progress");
        Thread.sleep(20);
      }
    } finally {
      p.destroyForcibly(); // SIGKILL
      p.waitFor(1, TimeUnit.MINUTES);
    }
    assertTrue(SmallRuns.stepsLogged(killed) < 12, "killed before the end");

    assertEquals(0, Main.execute("resume", killed.toString()));
    for (String field : List.of("loss_capi", "loss_clustering")) {
      Map<Long, String> a = SmallRuns.metric(whole, field);
      assertEquals(12, a.size());
      assertEquals(a, SmallRuns.metric(killed, field), field + " after SIGKILL and resume");
    }
  }
}
