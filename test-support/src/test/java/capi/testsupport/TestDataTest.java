package capi.testsupport;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

class TestDataTest {
  @Test
  void findsTheGoldenFixtureInsideTheRepository() {
    var dir = TestData.golden(TestData.TINY_A);
    assertTrue(dir.startsWith(TestData.root()), dir + " is inside " + TestData.root());
    assertTrue(Files.isRegularFile(dir.resolve("schedule__lr.npy")), "the fixture's arrays are there");
  }

  @Test
  void aMissingFixtureFailsAndSaysWhatToDo() {
    AssertionError e = assertThrows(AssertionError.class, () -> TestData.golden("no-such-fixture"));
    assertTrue(e.getMessage().contains("git checkout -- testdata/golden"), e.getMessage());
  }
}
