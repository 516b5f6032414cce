package capi.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A `capi` command in a JVM of its own, as the launcher starts it: for tests that kill, signal or limit it. */
final class CapiProcess {
  private CapiProcess() {}

  /** The command line: java, the launcher's JVM options, the test classpath, Main, then {@code args}. */
  static List<String> command(List<String> args) {
    List<String> cmd = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"),
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens", "java.base/java.nio=ALL-UNNAMED",
        "--add-modules", "jdk.incubator.vector",
        "-Xmx1g", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(args);
    return cmd;
  }

  /** Starts {@code command} (e.g. {@link #command} behind a wrapper) with stdout and stderr into {@code log}. */
  static Process start(List<String> command, Path log) throws IOException {
    return start(command, Map.of(), log);
  }

  /** As {@link #start(List, Path)}, with {@code env} added to this JVM's environment (a launcher's variables). */
  static Process start(List<String> command, Map<String, String> env, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    pb.environment().putAll(env);
    return pb.start();
  }
}
