package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** SIGTERM (pre-emption): the run finishes its step, checkpoints it, prints its final line and exits. */
class SigtermTest {
  @TempDir Path tmp;

  @Test
  @Timeout(300)
  void sigtermCheckpointsTheLastStep() throws Exception {
    Path run = tmp.resolve("run");
    List<String> cmd = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"),
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
        "--add-modules", "jdk.incubator.vector",
        "-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train",
        "--run-dir", run.toString(), "--steps", "100000", "--workers", "2", "--batch-size", "8",
        "--checkpoint-every", "100000"));
    cmd.addAll(SmallRuns.small());
    Path log = tmp.resolve("run.log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Process p = pb.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (SmallRuns.stepsLogged(run) < 3) {
        assertTrue(p.isAlive() && System.nanoTime() < deadline, Files.readString(log));
        Thread.sleep(50);
      }
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(2, TimeUnit.MINUTES), "the run did not end after SIGTERM");
    } finally {
      p.destroyForcibly();
    }
    long steps = SmallRuns.stepsLogged(run);
    assertEquals(String.format("step-%08d", steps), Files.readString(run.resolve("checkpoints/LATEST")).trim(),
        "the last logged step is checkpointed");
    assertTrue(Files.readString(log).contains("{\"event\":\"done\",\"steps\":" + steps + ","), Files.readString(log));
  }
}
