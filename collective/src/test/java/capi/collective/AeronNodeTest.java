package capi.collective;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AeronNodeTest {
  @TempDir Path base;

  @Test
  void deletesItsDirectoryOnCloseAndThoseOfDeadProcessesOnStart() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    Path crashed = Files.createDirectories(base.resolve("capi-aeron-" + gone.pid() + "-1-crashed"));
    Files.writeString(crashed.resolve("cnc.dat"), "left behind");
    Path alive = Files.createDirectories(base.resolve("capi-aeron-" + ProcessHandle.current().pid() + "-0-other"));
    Path foreign = Files.createDirectories(base.resolve("someone-else"));

    AeronNode node = AeronNode.start(Ranks.config(Map.of("aeron-dir", base.toString())), "n/1");
    Path own = node.directory();
    assertTrue(Files.isDirectory(own) && own.getParent().equals(base), own.toString());
    assertFalse(Files.exists(crashed), "directory of a dead process survived");
    assertTrue(Files.exists(alive) && Files.exists(foreign));
    node.close();
    assertFalse(Files.exists(own), "own directory survived close");
  }
}
