package capi.engine.checkpoint;

import capi.config.BadConfigException;
import capi.engine.CapiTrainer;
import capi.engine.NamedTensor;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of a run, and the one owner of their layout: whoever writes or reads a checkpoint
 * (the worker that saves its replica, the coordinator that commits, {@code capi resume}, {@code eval},
 * {@code export}) goes through this class.
 *
 * <pre>
 * DIR/
 *   LATEST                       "step-00000008\n": the newest committed checkpoint (replaced atomically)
 *   step-00000008/
 *     model.safetensors          every CapiTrainer.state() tensor; metadata "steps" and "optimizer_step"
 *                                (the AdamW step count of the bias corrections)
 *     state.json                 {"step":8,"world_size":2,"generation":…,"seed":0,"batch_size":8,"loss_capi":5.1}
 *     config.conf                the run's configuration when the checkpoint was written
 *     manifest.json              {"step":8,"files":{"model.safetensors":{"bytes":…,"sha256":"…"},…}}, written last
 *   .tmp-step-00000012-PID/      a checkpoint being written: ignored when loading, removed when discarded
 * </pre>
 *
 * <p>A checkpoint is written into its temporary directory, every file fsynced, the manifest written
 * last, the directory renamed into place, then LATEST replaced atomically; only then are old
 * checkpoints pruned (the newest {@code keep} by step, never the one LATEST names). A crash at any
 * point leaves the previous or the new checkpoint complete. Loading verifies the manifest and falls
 * back to the newest older checkpoint that verifies, with a warning; a garbled LATEST is ignored.
 * A replica with a NaN or an infinity is never written ({@link NonFiniteException}).
 */
public final class CheckpointStore {
  public static final String MANIFEST = "manifest.json";
  public static final String MODEL_FILE = "model.safetensors";
  public static final String STATE_FILE = "state.json";
  public static final String CONFIG_FILE = "config.conf";
  public static final String LATEST = "LATEST";
  private static final String PREFIX = "step-";
  private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{1,18})");
  /** Metadata of model.safetensors: the steps done, and the AdamW step count. */
  private static final String STEPS = "steps";
  private static final String OPTIMIZER_STEP = "optimizer_step";

  private final Path dir;
  private final int keep;
  private final Consumer<String> warn;

  /** @param warn receives one line per damaged checkpoint (or garbled LATEST) skipped when loading */
  public CheckpointStore(Path dir, int keep, Consumer<String> warn) {
    if (keep < 1) throw new IllegalArgumentException("keep must be >= 1");
    this.dir = dir;
    this.keep = keep;
    this.warn = warn;
  }

  public Path dir() {
    return dir;
  }

  public static String dirName(long step) {
    return String.format(Locale.ROOT, "%s%08d", PREFIX, step);
  }

  // ---- writing -----------------------------------------------------------------------------------

  /** A replica holds a NaN or an infinity: it must not become a checkpoint. */
  public static final class NonFiniteException extends IOException {
    NonFiniteException(String message) {
      super(message);
    }
  }

  /**
   * Writes a replica's tensors and AdamW step count into a pending checkpoint's directory (the
   * worker of rank 0 does this, wherever the coordinator runs).
   *
   * @throws NonFiniteException when a tensor holds a NaN or an infinity (nothing is written)
   */
  public static void writeModel(Path pendingDir, CapiTrainer trainer, long stepsDone) throws IOException {
    Map<String, NamedTensor> state = trainer.state();
    for (NamedTensor t : state.values()) {
      float[] d = t.data();
      for (int i = 0; i < d.length; i++) {
        if (!Float.isFinite(d[i])) {
          throw new NonFiniteException(t.name() + "[" + i + "] = " + d[i] + " after step " + stepsDone);
        }
      }
    }
    SafeTensors.write(pendingDir.resolve(MODEL_FILE), state.values(),
        Map.of(STEPS, Long.toString(stepsDone), OPTIMIZER_STEP, Long.toString(trainer.optimizerStep())));
  }

  /** What the coordinator records beside the tensors ({@code state.json}). */
  public record State(long step, int worldSize, int generation, long seed, int batchSize, double lossCapi) {
    String json() {
      Map<String, String> fields = new LinkedHashMap<>();
      fields.put("step", Long.toString(step));
      fields.put("world_size", Integer.toString(worldSize));
      fields.put("generation", Integer.toString(generation));
      fields.put("seed", Long.toString(seed));
      fields.put("batch_size", Integer.toString(batchSize));
      fields.put("loss_capi", Double.isFinite(lossCapi) ? Double.toString(lossCapi) : "null");
      return Json.object(fields) + "\n";
    }

    static State parse(Path file) throws IOException {
      ConfigObject o = Json.parseObject(Files.readString(file, StandardCharsets.UTF_8), file.toString());
      return new State(number(o, "step").longValue(), number(o, "world_size").intValue(),
          number(o, "generation").intValue(), number(o, "seed").longValue(), number(o, "batch_size").intValue(),
          o.get("loss_capi") == null || o.get("loss_capi").unwrapped() == null
              ? Double.NaN : number(o, "loss_capi").doubleValue());
    }

    private static Number number(ConfigObject o, String key) throws IOException {
      ConfigValue v = o.get(key);
      if (v == null || !(v.unwrapped() instanceof Number n)) throw new IOException(STATE_FILE + ": no number " + key);
      return n;
    }
  }

  /** A checkpoint being written; {@link #commit} publishes it, {@link #close} without commit discards it. */
  public final class Pending implements AutoCloseable {
    private final long step;
    private final Path tmp;
    private boolean committed;

    private Pending(long step, Path tmp) {
      this.step = step;
      this.tmp = tmp;
    }

    /** The directory the worker writes the model into ({@link #writeModel}). */
    public Path dir() {
      return tmp;
    }

    public long step() {
      return step;
    }

    /**
     * Adds state.json and a copy of {@code config}, then manifest, fsync, rename, LATEST, prune.
     * Returns the published directory.
     */
    public Path commit(State state, Path config) throws IOException {
      if (!Files.isRegularFile(tmp.resolve(MODEL_FILE))) throw new IOException(tmp + ": no " + MODEL_FILE);
      Files.writeString(tmp.resolve(STATE_FILE), state.json(), StandardCharsets.UTF_8);
      Files.copy(config, tmp.resolve(CONFIG_FILE), StandardCopyOption.REPLACE_EXISTING);
      Map<String, String> files = new LinkedHashMap<>();
      List<Path> written;
      try (Stream<Path> s = Files.list(tmp)) {
        written = s.sorted().toList();
      }
      for (Path f : written) {
        fsync(f);
        files.put(f.getFileName().toString(),
            "{\"bytes\":" + Files.size(f) + ",\"sha256\":" + Json.quote(sha256(f)) + "}");
      }
      Map<String, String> manifest = new LinkedHashMap<>();
      manifest.put("step", Long.toString(step));
      manifest.put("files", Json.object(files));
      Path m = tmp.resolve(MANIFEST);
      Files.writeString(m, Json.object(manifest) + "\n", StandardCharsets.UTF_8);
      fsync(m);
      fsync(tmp);
      Path target = dir.resolve(dirName(step));
      if (Files.exists(target)) deleteTree(target);
      move(tmp, target);
      fsync(dir);
      Path latestTmp = dir.resolve(LATEST + ".tmp");
      Files.writeString(latestTmp, dirName(step) + "\n", StandardCharsets.UTF_8);
      fsync(latestTmp);
      move(latestTmp, dir.resolve(LATEST));
      fsync(dir);
      committed = true;
      prune(target);
      return target;
    }

    @Override
    public void close() throws IOException {
      if (!committed && Files.exists(tmp)) deleteTree(tmp);
    }
  }

  public Pending begin(long step) throws IOException {
    Files.createDirectories(dir);
    Path tmp = dir.resolve(".tmp-" + dirName(step) + "-" + ProcessHandle.current().pid());
    if (Files.exists(tmp)) deleteTree(tmp);
    Files.createDirectories(tmp);
    return new Pending(step, tmp);
  }

  /** Keeps the checkpoint just committed and the newest others by step, {@code keep} in all. */
  private void prune(Path latest) throws IOException {
    int kept = 1;
    for (Path p : stepDirs()) {
      if (p.equals(latest)) continue;
      if (kept < keep) kept++;
      else deleteTree(p);
    }
  }

  // ---- reading -----------------------------------------------------------------------------------

  /** A complete, verified checkpoint. */
  public record Checkpoint(long step, Path dir) {
    /** Loads the tensors and the AdamW step count into a replica of the same model. */
    public void loadInto(CapiTrainer trainer) throws IOException {
      Path file = dir.resolve(MODEL_FILE);
      trainer.loadState(SafeTensors.read(file));
      String optimizerStep = SafeTensors.metadata(file).get(OPTIMIZER_STEP);
      if (optimizerStep == null) throw new IOException(file + ": no " + OPTIMIZER_STEP + " metadata");
      trainer.setOptimizerStep(Long.parseLong(optimizerStep));
    }

    /** Every tensor, under CapiTrainer.state()'s names. */
    public Map<String, NamedTensor> tensors() throws IOException {
      return SafeTensors.read(dir.resolve(MODEL_FILE));
    }

    public State state() throws IOException {
      return State.parse(dir.resolve(STATE_FILE));
    }

    /** The run's configuration as it was when this checkpoint was written. */
    public Path config() {
      return dir.resolve(CONFIG_FILE);
    }
  }

  /**
   * What a look at the directory found: the newest checkpoint that verifies, if any, and one line for
   * each damaged one (and a garbled LATEST) passed over on the way.
   */
  public record Scan(Optional<Checkpoint> newest, List<String> damaged) {
    /** For messages: "no checkpoint" or "no valid checkpoint: step-… (why); …". */
    public String describe() {
      if (newest.isPresent()) return "newest valid checkpoint: step " + newest.get().step();
      if (damaged.isEmpty()) return "no checkpoint";
      return "no valid checkpoint (" + String.join("; ", damaged) + ")";
    }
  }

  /**
   * Looks for the newest checkpoint that verifies: the one LATEST names first, then the others by
   * step, newest first. Damaged ones are reported through the warning consumer and skipped; leftovers
   * of interrupted writes are ignored.
   */
  public Scan scan() throws IOException {
    if (!Files.isDirectory(dir)) return new Scan(Optional.empty(), List.of());
    List<String> damaged = new ArrayList<>();
    List<Path> candidates = new ArrayList<>();
    Path named = latestNamed(damaged);
    if (named != null) candidates.add(named);
    for (Path p : stepDirs()) if (!candidates.contains(p)) candidates.add(p);
    for (Path p : candidates) {
      try {
        return new Scan(Optional.of(new Checkpoint(verify(p), p)), List.copyOf(damaged));
      } catch (IOException | RuntimeException e) {
        damaged.add(p.getFileName() + ": " + e.getMessage());
        warn.accept("checkpoint " + p + " is damaged (" + e.getMessage() + "); trying an older one");
      }
    }
    return new Scan(Optional.empty(), List.copyOf(damaged));
  }

  /** The directory LATEST names, or null when there is no LATEST or it is garbled (noted in damaged). */
  private Path latestNamed(List<String> damaged) throws IOException {
    Path latest = dir.resolve(LATEST);
    if (!Files.isRegularFile(latest)) return null;
    byte[] bytes = Files.readAllBytes(latest);
    String text = bytes.length > 64 ? "" : new String(bytes, StandardCharsets.ISO_8859_1).strip();
    if (STEP_DIR.matcher(text).matches()) return dir.resolve(text);
    damaged.add(LATEST + ": garbled (" + bytes.length + " bytes that name no step-N directory)");
    warn.accept(latest + " is garbled (it names no step-N directory); looking at the checkpoints themselves");
    return null;
  }

  /**
   * The checkpoint a user named: a checkpoint directory (verified) or a run directory (its newest
   * valid checkpoint). A path that is neither is a {@link BadConfigException} naming it.
   */
  public static Checkpoint locate(Path path, Consumer<String> warn) throws IOException {
    if (Files.isRegularFile(path.resolve(MANIFEST))) {
      try {
        return new Checkpoint(verify(path), path);
      } catch (IOException e) {
        throw new BadConfigException("checkpoint " + path + " is damaged: " + e.getMessage());
      }
    }
    Path dir = Files.isDirectory(path.resolve("checkpoints")) ? path.resolve("checkpoints") : path;
    if (!Files.isDirectory(dir)) throw new BadConfigException(path + ": no such run or checkpoint directory");
    Scan scan = new CheckpointStore(dir, 1, warn).scan();
    return scan.newest().orElseThrow(() -> new BadConfigException(path + ": " + scan.describe()));
  }

  /** Checks every file of the manifest (size and SHA-256); returns the checkpoint's step. */
  public static long verify(Path checkpoint) throws IOException {
    Path m = checkpoint.resolve(MANIFEST);
    if (!Files.isRegularFile(m)) throw new IOException("no " + MANIFEST);
    ConfigObject manifest = Json.parseObject(Files.readString(m, StandardCharsets.UTF_8), m.toString());
    ConfigValue files = manifest.get("files");
    ConfigValue step = manifest.get("step");
    if (!(files instanceof ConfigObject fileMap) || step == null) throw new IOException(m + " lacks files or step");
    for (Map.Entry<String, ConfigValue> e : fileMap.entrySet()) {
      Path f = checkpoint.resolve(e.getKey());
      Map<?, ?> info = (Map<?, ?>) e.getValue().unwrapped();
      if (!Files.isRegularFile(f)) throw new IOException("missing " + e.getKey());
      long bytes = ((Number) info.get("bytes")).longValue();
      if (Files.size(f) != bytes) throw new IOException(e.getKey() + " has " + Files.size(f) + " bytes, manifest " + bytes);
      if (!sha256(f).equals(info.get("sha256"))) throw new IOException(e.getKey() + " checksum mismatch");
    }
    return ((Number) step.unwrapped()).longValue();
  }

  /** step-N directories, newest (largest N) first. */
  private List<Path> stepDirs() throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, PREFIX + "*")) {
      for (Path p : s) if (Files.isDirectory(p) && STEP_DIR.matcher(p.getFileName().toString()).matches()) out.add(p);
    }
    out.sort(Comparator.comparingLong(CheckpointStore::stepOf).reversed());
    return out;
  }

  private static long stepOf(Path stepDir) {
    Matcher m = STEP_DIR.matcher(stepDir.getFileName().toString());
    if (!m.matches()) throw new IllegalArgumentException(stepDir.toString());
    return Long.parseLong(m.group(1));
  }

  static String sha256(Path f) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(f)) {
      for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static void fsync(Path p) throws IOException {
    if (Files.isDirectory(p)) {
      try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
        ch.force(true);
      } catch (IOException e) {
        // Some filesystems refuse to open directories for fsync; the rename is still atomic.
      }
    } else {
      try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static void deleteTree(Path p) throws IOException {
    try (Stream<Path> s = Files.walk(p)) {
      s.sorted(Comparator.reverseOrder()).forEach(q -> {
        try {
          Files.delete(q);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
