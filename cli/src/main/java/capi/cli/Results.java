package capi.cli;

import capi.monitoring.JsonLine;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/**
 * The final JSON line of a measuring command (`capi bench`, `capi eval`) and its row in the
 * repository's results: the line gets where it was measured — the commit ("-dirty" when tracked
 * files other than results/ differ from it), the machine's cores and CPU model, and its load average over the last
 * minute (other processes' work, which a shared machine's figures depend on) — beside its "time",
 * is printed, and is
 * appended to {@code results/NAME.jsonl} of the checkout the `capi` launcher runs from (it sets
 * CAPI_HOME), or to the file {@code --results} names. Rows are only ever appended by the commands.
 */
final class Results {
  private Results() {}

  /**
   * @param name results/NAME.jsonl
   * @param file --results, or null for the checkout's file (none outside the launcher)
   */
  static void finish(JsonLine line, String name, Path file) {
    Path home = home();
    line.add("commit", commit(home)).add("cores", Runtime.getRuntime().availableProcessors()).add("cpu", cpuModel())
        .add("load1", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), "%.2f");
    String row = line.toString();
    System.out.println(row);
    Path target = file != null ? file : home == null ? null : home.resolve("results").resolve(name + ".jsonl");
    if (target == null) return;
    try {
      if (target.getParent() != null) Files.createDirectories(target.getParent());
      Files.writeString(target, row + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      LoggerFactory.getLogger(Results.class).warn("could not append the result to {}: {}", target, e.toString());
    }
  }

  /** The checkout the launcher runs from (CAPI_HOME), or null. */
  private static Path home() {
    String home = System.getenv("CAPI_HOME");
    return home == null || home.isEmpty() ? null : Path.of(home);
  }

  /**
   * The checkout's commit, "-dirty" when tracked files other than the results changed (a row
   * appended by an earlier measurement does not make the code dirty), or "unknown" (no git, not a
   * checkout).
   */
  private static String commit(Path home) {
    Path dir = home != null ? home : Path.of("").toAbsolutePath();
    String head = git(dir, "rev-parse", "--short=12", "HEAD");
    if (head == null || head.isEmpty()) return "unknown";
    String changes = git(dir, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results");
    return changes == null || changes.isEmpty() ? head : head + "-dirty";
  }

  private static String git(Path dir, String... args) {
    try {
      List<String> cmd = new ArrayList<>(List.of("git", "-C", dir.toString()));
      cmd.addAll(List.of(args));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** The CPU's model name (/proc/cpuinfo), or the architecture where there is none. */
  private static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).strip();
      }
    } catch (IOException e) {
      // not Linux: fall through
    }
    return System.getProperty("os.arch");
  }
}
