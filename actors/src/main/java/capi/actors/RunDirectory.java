package capi.actors;

import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.config.Keys;
import capi.config.Overrides;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A run directory (CLI.md): {@code config.conf}, {@code metrics.jsonl} (one JSON object per step),
 * {@code checkpoints/}. Owned by the coordinator; one writer.
 */
public final class RunDirectory implements AutoCloseable {
  public static final String CONFIG = "config.conf";
  public static final String METRICS = "metrics.jsonl";
  public static final String CHECKPOINTS = "checkpoints";
  private static final Pattern STEP = Pattern.compile("\"step\":(\\d+)");

  private final Path dir;
  private BufferedWriter metrics;

  private RunDirectory(Path dir) {
    this.dir = dir;
  }

  /** A new run: creates the directory (runs/TIMESTAMP when none is configured) and writes config.conf. */
  public static RunDirectory create(CapiConfig config) throws IOException {
    String configured = config.train().runDir();
    Path dir = configured.isEmpty()
        ? Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))
        : Path.of(configured);
    if (Files.exists(dir.resolve(CONFIG))) {
      throw new BadConfigException("run directory " + dir + " already holds a run; use `capi resume " + dir + "`");
    }
    Files.createDirectories(dir.resolve(CHECKPOINTS));
    Files.writeString(dir.resolve(CONFIG), config.hocon(), StandardCharsets.UTF_8);
    return new RunDirectory(dir.toAbsolutePath());
  }

  /**
   * The run directory of a cluster node: all nodes name the same one, the first to arrive creates
   * it, a directory that holds the run already is joined as it is (a restarted cluster resumes).
   */
  public static RunDirectory createOrOpen(CapiConfig config) throws IOException {
    String configured = config.train().runDir();
    if (configured.isEmpty()) throw new BadConfigException(Keys.TRAIN_RUN_DIR + ": a cluster needs one shared run directory");
    Path dir = Path.of(configured).toAbsolutePath();
    Files.createDirectories(dir.resolve(CHECKPOINTS));
    RunDirectory run = new RunDirectory(dir);
    if (!Files.exists(dir.resolve(CONFIG))) run.saveConfig(config);
    return run;
  }

  /** An existing run, for resume: its config.conf must exist. */
  public static RunDirectory open(Path dir) {
    if (!Files.isRegularFile(dir.resolve(CONFIG))) {
      throw new BadConfigException("run directory " + dir + ": no " + CONFIG + " (not a capi run directory)");
    }
    return new RunDirectory(dir.toAbsolutePath());
  }

  public Path dir() {
    return dir;
  }

  public Path checkpoints() {
    return dir.resolve(CHECKPOINTS);
  }

  /** Removes a run directory that never got a checkpoint (a run that failed at start). */
  public void deleteIfNoCheckpoint() throws IOException {
    close();
    try (var s = Files.list(checkpoints())) {
      if (s.findAny().isPresent()) return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }

  /** Replaces config.conf (a resume with new overrides), atomically. */
  public void saveConfig(CapiConfig config) throws IOException {
    Path tmp = dir.resolve(CONFIG + ".tmp-" + ProcessHandle.current().pid());
    Files.writeString(tmp, config.hocon(), StandardCharsets.UTF_8);
    Files.move(tmp, dir.resolve(CONFIG), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** The run's saved configuration with {@code overrides} over it. */
  public CapiConfig savedConfig(Overrides overrides) {
    return CapiConfig.read(dir.resolve(CONFIG), overrides);
  }

  /** The run's saved configuration as cluster node {@code node} runs it (its own cluster, monitoring, udp address, workers). */
  public CapiConfig savedConfigFor(CapiConfig node) {
    return CapiConfig.readForNode(dir.resolve(CONFIG), node);
  }

  /**
   * Opens metrics.jsonl for appending, first dropping lines of steps after {@code lastStep} (steps a
   * killed run logged after its last checkpoint, which the resumed run computes again).
   */
  public void openMetrics(long lastStep) throws IOException {
    close();
    Path file = dir.resolve(METRICS);
    if (Files.exists(file)) {
      List<String> kept = new ArrayList<>();
      boolean dropped = false;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        Matcher m = STEP.matcher(line);
        if (line.isBlank() || (m.find() && Long.parseLong(m.group(1)) > lastStep) || !line.endsWith("}")) {
          dropped = true;
        } else {
          kept.add(line);
        }
      }
      if (dropped) {
        Path tmp = dir.resolve(METRICS + ".tmp");
        Files.write(tmp, kept, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
    }
    metrics = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** Appends one JSON line and flushes it (a crash loses at most the step in flight). */
  public void appendMetrics(String jsonLine) {
    try {
      metrics.write(jsonLine);
      metrics.newLine();
      metrics.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws IOException {
    if (metrics != null) metrics.close();
    metrics = null;
  }
}
