package capi.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The repository's own test data, under {@code testdata/} at the repository root. Maven runs each
 * module's tests in the module's folder and an IDE often at the root, so the lookup walks up from
 * the working directory to the repository root (the folder that holds {@code test-support/pom.xml})
 * and looks only there: nothing outside the repository is ever used. Data that is not there fails
 * the test with what to do; it never skips it.
 */
public final class TestData {
  /** Two float64 iterations of a tiny model by the official CAPI code (testdata/golden/README.md). */
  public static final String TINY_A = "capi-tiny-a";

  private TestData() {}

  /** The golden fixture {@code testdata/golden/NAME} (a manifest.json and its .npy files). */
  public static Path golden(String name) {
    Path dir = root().resolve("testdata").resolve("golden").resolve(name);
    if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
      throw new AssertionError(dir.resolve("manifest.json") + " is missing: the golden fixture is part of the"
          + " repository (testdata/golden/README.md); restore it with `git checkout -- testdata/golden`");
    }
    return dir;
  }

  /** The repository root: the nearest folder at or above the working directory that holds test-support/pom.xml. */
  public static Path root() {
    Path start = Path.of("").toAbsolutePath();
    for (Path p = start; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("test-support").resolve("pom.xml"))) return p;
    }
    throw new AssertionError("no capi repository root (a folder with test-support/pom.xml) at or above " + start
        + ": run the tests from inside the repository (`mvn -B test` at its root)");
  }
}
