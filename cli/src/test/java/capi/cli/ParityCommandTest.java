package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.testsupport.TestData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** `capi parity` passes on the golden vectors of tiny-a in float64 and float32. */
class ParityCommandTest {
  @Test
  @Timeout(180)
  void passesOnTinyAInBothPrecisions() {
    PrintStream saved = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int status;
    try {
      System.setOut(new PrintStream(captured, true));
      status = Main.execute("parity", TestData.golden(TestData.TINY_A).toString(), "--precision", "both");
    } finally {
      System.setOut(saved);
    }
    String out = captured.toString();
    assertEquals(Main.EXIT_OK, status, out);
    assertTrue(out.contains("float64 ") && out.contains("float32 "), out);
    assertTrue(out.lines().anyMatch(l -> l.startsWith("parity PASS max_rel_err=")), out);
  }

  @Test
  @Timeout(30)
  void rejectsADirectoryWithoutManifest() {
    assertEquals(Main.EXIT_BAD_INPUT, Main.execute("parity", "/nonexistent-golden-dir"));
  }
}
