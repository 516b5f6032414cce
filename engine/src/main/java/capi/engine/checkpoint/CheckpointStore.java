package capi.engine.checkpoint;

import capi.config.BadConfigException;
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
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The checkpoints of a run: {@code DIR/step-NNNNNNNN/} directories and a {@code DIR/LATEST} file
 * naming the newest complete one.
 *
 * <p>A checkpoint is written into a temporary directory, every file fsynced, a {@code
 * manifest.json} with each file's size and SHA-256 written last, the directory renamed into place,
 * then LATEST replaced atomically; only then are old checkpoints pruned. A crash at any point leaves
 * either the previous or the new checkpoint complete. Loading verifies the manifest and falls back to
 * the newest older checkpoint that verifies, with a warning.
 */
public final class CheckpointStore {
  public static final String MANIFEST = "manifest.json";
  /** The tensors of a checkpoint: every model and optimiser tensor, named as CapiTrainer.state() names them. */
  public static final String MODEL_FILE = "model.safetensors";
  public static final String LATEST = "LATEST";
  private static final String PREFIX = "step-";

  private final Path dir;
  private final int keep;
  private final Consumer<String> warn;

  /** @param warn receives one line per damaged checkpoint skipped when loading */
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
    return String.format("%s%08d", PREFIX, step);
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

    /** The directory to write files into. */
    public Path dir() {
      return tmp;
    }

    /** Manifest, fsync, rename, LATEST, prune. Returns the published directory. */
    public Path commit() throws IOException {
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
      prune();
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

  /** A complete, verified checkpoint. */
  public record Checkpoint(long step, Path dir) {}

  /**
   * The newest checkpoint that verifies: LATEST first, then older ones newest first. Damaged ones are
   * reported through the warning consumer and skipped; leftovers of interrupted writes are ignored.
   */
  public Optional<Checkpoint> latestValid() throws IOException {
    if (!Files.isDirectory(dir)) return Optional.empty();
    List<Path> candidates = new ArrayList<>();
    Path latest = dir.resolve(LATEST);
    if (Files.isRegularFile(latest)) {
      Path named = dir.resolve(Files.readString(latest, StandardCharsets.UTF_8).trim());
      if (named.getFileName().toString().startsWith(PREFIX)) candidates.add(named);
    }
    for (Path p : stepDirs()) if (!candidates.contains(p)) candidates.add(p);
    for (Path p : candidates) {
      try {
        long step = verify(p);
        return Optional.of(new Checkpoint(step, p));
      } catch (IOException | RuntimeException e) {
        warn.accept("checkpoint " + p + " is damaged (" + e.getMessage() + "); using an older one");
      }
    }
    return Optional.empty();
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
    return new CheckpointStore(dir, 1, warn).latestValid()
        .orElseThrow(() -> new BadConfigException(path + ": holds no valid checkpoint"));
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

  /** step-* directories, newest first. */
  private List<Path> stepDirs() throws IOException {
    List<Path> out = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, PREFIX + "*")) {
      for (Path p : s) if (Files.isDirectory(p)) out.add(p);
    }
    out.sort(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed());
    return out;
  }

  private void prune() throws IOException {
    List<Path> all = stepDirs();
    for (int i = keep; i < all.size(); i++) deleteTree(all.get(i));
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
    }
  }
}
