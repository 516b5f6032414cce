package capi.actors;

import capi.config.BadConfigException;
import capi.config.CapiConfig;
import capi.config.Keys;
import capi.config.Overrides;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A run directory (CLI.md): {@code config.conf}, {@code metrics.jsonl} (one JSON object per step,
 * written by the {@link StepLog}), {@code checkpoints/} (the CheckpointStore's). capi deletes only
 * what it created: a new run goes into a directory that does not exist or is empty, and a run that
 * fails at start removes its own files and the directories it made, nothing else.
 */
public final class RunDirectory {
  public static final String CONFIG = "config.conf";
  public static final String METRICS = "metrics.jsonl";
  public static final String CHECKPOINTS = "checkpoints";
  /** Where {@link #setAsideForFreshStart} moves a run's damaged checkpoints and its metrics. */
  static final String ABANDONED = "abandoned-";
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private final Path dir;
  /** Directories {@link #create} made, deepest first; empty for a directory it found. */
  private final List<Path> created;

  private RunDirectory(Path dir, List<Path> created) {
    this.dir = dir;
    this.created = created;
  }

  /**
   * A new run: creates the directory (runs/TIMESTAMP when none is configured) and writes config.conf.
   * A directory that holds a run, or anything else, is refused (exit 2, naming it).
   */
  public static RunDirectory create(CapiConfig config) throws IOException {
    String configured = config.train().runDir();
    Path dir = (configured.isEmpty() ? Path.of("runs", LocalDateTime.now().format(STAMP)) : Path.of(configured))
        .toAbsolutePath();
    if (Files.exists(dir.resolve(CONFIG))) {
      throw new BadConfigException("run directory " + dir + " already holds a run; use `capi resume " + dir + "`");
    }
    if (Files.exists(dir)) {
      if (!Files.isDirectory(dir)) throw BadConfigException.of(Keys.TRAIN_RUN_DIR, dir, "is a file, not a directory");
      List<String> entries = entries(dir);
      if (!entries.isEmpty()) {
        throw BadConfigException.of(Keys.TRAIN_RUN_DIR, dir, "is not empty (" + String.join(", ", entries)
            + ") and is not a capi run (no " + CONFIG + "); name a new or an empty directory");
      }
    }
    List<Path> created = new ArrayList<>();
    for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) created.add(p);
    Files.createDirectories(dir.resolve(CHECKPOINTS));
    Files.writeString(dir.resolve(CONFIG), config.hocon(), StandardCharsets.UTF_8);
    return new RunDirectory(dir, List.copyOf(created));
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
    RunDirectory run = new RunDirectory(dir, List.of());
    if (!Files.exists(dir.resolve(CONFIG))) run.saveConfig(config);
    return run;
  }

  /** An existing run, for resume: its config.conf must exist. */
  public static RunDirectory open(Path dir) {
    if (!Files.isRegularFile(dir.resolve(CONFIG))) {
      throw new BadConfigException("run directory " + dir + ": no " + CONFIG + " (not a capi run directory)");
    }
    return new RunDirectory(dir.toAbsolutePath(), List.of());
  }

  public Path dir() {
    return dir;
  }

  public Path checkpoints() {
    return dir.resolve(CHECKPOINTS);
  }

  public Path metrics() {
    return dir.resolve(METRICS);
  }

  /**
   * Undoes {@link #create} for a run that failed at start, before its first checkpoint: removes
   * config.conf, metrics.jsonl, checkpoints/ and the directories create made (those only when empty).
   * Anything else in the directory stays, and so does everything once a checkpoint exists.
   */
  public void discardIfNew() throws IOException {
    if (!Files.isDirectory(checkpoints())) return;
    try (Stream<Path> s = Files.list(checkpoints())) {
      if (s.anyMatch(p -> p.getFileName().toString().startsWith("step-"))) return;
    }
    try (Stream<Path> walk = Files.walk(checkpoints())) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    }
    Files.deleteIfExists(metrics());
    Files.deleteIfExists(dir.resolve(CONFIG));
    for (Path p : created) {
      try {
        Files.deleteIfExists(p);
      } catch (DirectoryNotEmptyException e) {
        return; // someone put something there meanwhile: theirs
      }
    }
  }

  /**
   * For `capi resume --from-scratch` of a run without a valid checkpoint: moves checkpoints/ and
   * metrics.jsonl into abandoned-TIMESTAMP/ (nothing is deleted), so the run starts again at step 0.
   * Returns that directory.
   */
  public Path setAsideForFreshStart() throws IOException {
    Path aside = dir.resolve(ABANDONED + LocalDateTime.now().format(STAMP));
    Files.createDirectory(aside);
    if (Files.exists(checkpoints())) Files.move(checkpoints(), aside.resolve(CHECKPOINTS));
    if (Files.exists(metrics())) Files.move(metrics(), aside.resolve(METRICS));
    Files.createDirectories(checkpoints());
    return aside;
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

  /** The names in a directory, sorted, at most 3 and "…" (for messages). */
  private static List<String> entries(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      List<String> names = new ArrayList<>(s.map(p -> p.getFileName().toString()).sorted().limit(4).toList());
      if (names.size() == 4) names.set(3, "…");
      return names;
    }
  }
}
