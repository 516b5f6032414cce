package capi.engine;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates shared/ (golden vectors): -Dcapi.shared, else the first shared/ found walking up from the working dir. */
final class SharedDir {
  private SharedDir() {}

  static Path golden(String name) {
    String prop = System.getProperty("capi.shared");
    if (prop != null) return Path.of(prop, "golden", name);
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path g = p.resolve("shared").resolve("golden").resolve(name);
      if (Files.isDirectory(g)) return g;
    }
    throw new IllegalStateException("shared/golden/" + name + " not found above " + Path.of("").toAbsolutePath() + " (set -Dcapi.shared)");
  }
}
