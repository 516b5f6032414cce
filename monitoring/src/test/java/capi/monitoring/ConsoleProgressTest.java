package capi.monitoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void plainModePrintsAJsonLineAtMostOncePerInterval() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    AtomicLong clock = new AtomicLong(1000 * SECOND);
    ConsoleProgress p = ConsoleProgress.plain(10, Duration.ofSeconds(10),
        new PrintStream(out, true, StandardCharsets.UTF_8), clock::get);

    p.update(1, 7.25, 300); // printed at once
    clock.addAndGet(5 * SECOND);
    p.update(2, 7.0, 310); // held back: 5 s < 10 s
    clock.addAndGet(5 * SECOND);
    p.update(3, 6.5, 320); // printed: 2 steps in 10 s, 7 steps left -> ETA 35 s
    clock.addAndGet(1 * SECOND);
    p.update(4, Double.NaN, 330); // held back, then printed by close
    p.close();

    List<JsonNode> lines = parse(out);
    assertEquals(List.of(1L, 3L, 4L), lines.stream().map(l -> l.get("step").asLong()).toList());
    JsonNode third = lines.get(1);
    assertEquals("progress", third.get("event").asText());
    assertEquals(10, third.get("steps").asLong());
    assertEquals(6.5, third.get("loss_capi").asDouble(), 1e-9);
    assertEquals(320.0, third.get("img_per_s").asDouble(), 1e-9);
    assertEquals(35, third.get("eta_s").asLong());
    assertEquals(true, lines.get(0).get("eta_s").isNull(), "no ETA before a second step");
    assertTrue(lines.get(2).get("loss_capi").isNull(), "a diverged loss stays valid JSON");
    for (JsonNode line : lines) {
      assertTrue(OffsetDateTime.parse(line.get("time").asText(), JsonLine.TIME).isAfter(OffsetDateTime.now().minusMinutes(1)));
    }
  }

  @Test
  void closeAfterAPrintedLineAddsNothing() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ConsoleProgress p = ConsoleProgress.plain(5, Duration.ofSeconds(30),
        new PrintStream(out, true, StandardCharsets.UTF_8), () -> 0L);
    p.update(5, 1.0, 10);
    p.close();
    assertEquals(1, parse(out).size());
  }

  @Test
  void withoutATerminalTrainingProgressIsPlainLinesOnStdout() throws Exception {
    assertEquals(null, System.console(), "tests run without a terminal");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try (ConsoleProgress p = ConsoleProgress.forTraining(100, 40, Duration.ofMinutes(10))) {
      p.update(41, 3.5, 200);
    } finally {
      System.setOut(stdout);
    }
    assertEquals(41, parse(out).get(0).get("step").asLong());
  }

  private static List<JsonNode> parse(ByteArrayOutputStream out) throws Exception {
    ObjectMapper json = new ObjectMapper();
    String text = out.toString(StandardCharsets.UTF_8);
    return text.lines().map(l -> {
      try {
        return json.readTree(l);
      } catch (Exception e) {
        throw new AssertionError("not JSON: " + l, e);
      }
    }).toList();
  }
}
