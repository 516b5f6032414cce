package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.monitoring.JsonLine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SIGTERM (pre-emption) and SIGINT (Ctrl-C): the run finishes its step, checkpoints it, prints its
 * final line saying it was stopped, and exits 0. Every line it printed carries a timestamp: the
 * loggers' lines start with one, capi's JSON lines parse and hold a "time".
 */
class SigtermTest {
  /** A log line of slf4j-simple: "2026-12-03T14:03:42.288Z [thread] INFO logger - message". */
  private static final Pattern LOGGED = Pattern.compile("^(\\S+ )?\\[[^\\]]+\\] (TRACE|DEBUG|INFO|WARN|ERROR) .*");
  private static final Pattern STAMPED = Pattern.compile(
      "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) \\[.*");

  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"TERM", "INT"})
  @Timeout(300)
  void aSignalCheckpointsTheLastStepAndExitsZero(String signal) throws Exception {
    Path run = tmp.resolve("run");
    List<String> args = new ArrayList<>(List.of("train", "--run-dir", run.toString(), "--steps", "100000",
        "--workers", "2", "--batch-size", "8", "--checkpoint-every", "100000"));
    args.addAll(SmallRuns.small());
    // A job started in the background of a non-interactive shell inherits SIGINT ignored (as nohup
    // would): reset it to the default, as in a terminal, so capi handles it.
    List<String> cmd = new ArrayList<>(List.of("env", "--default-signal=INT"));
    cmd.addAll(CapiProcess.command(args));
    Path log = tmp.resolve("run.log");
    Process p = CapiProcess.start(cmd, log);
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (SmallRuns.stepsLogged(run) < 3) {
        assertTrue(p.isAlive() && System.nanoTime() < deadline, Files.readString(log));
        Thread.sleep(50);
      }
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
      assertEquals(0, kill.waitFor(), "kill -" + signal);
      assertTrue(p.waitFor(2, TimeUnit.MINUTES), "the run did not end after SIG" + signal);
    } finally {
      p.destroyForcibly();
    }
    String out = Files.readString(log);
    assertEquals(0, p.exitValue(), "exit status after SIG" + signal + ": " + out);
    long steps = SmallRuns.stepsLogged(run);
    assertEquals(String.format("step-%08d", steps), Files.readString(run.resolve("checkpoints/LATEST")).trim(),
        "the last logged step is checkpointed");

    ObjectMapper json = new ObjectMapper();
    JsonNode done = null;
    for (String line : out.lines().toList()) {
      if (line.startsWith("{")) {
        JsonNode event = json.readTree(line);
        assertTrue(OffsetDateTime.parse(event.get("time").asText(), JsonLine.TIME).isAfter(OffsetDateTime.now().minusHours(1)), line);
        if (event.get("event").asText().equals("done")) done = event;
      } else if (LOGGED.matcher(line).matches()) {
        assertTrue(STAMPED.matcher(line).matches(), "a log line without a timestamp: " + line);
      }
    }
    assertTrue(done != null, out);
    assertEquals(steps, done.get("steps").asLong());
    assertEquals("signal", done.get("stopped").asText());
    assertTrue(Double.isFinite(done.get("loss_capi").asDouble()) && done.get("loss_capi").isNumber(), done.toString());
  }
}
