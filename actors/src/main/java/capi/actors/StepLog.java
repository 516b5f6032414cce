package capi.actors;

import capi.monitoring.CapiMetrics;
import capi.monitoring.ConsoleProgress;
import capi.monitoring.JsonLine;
import capi.monitoring.StepReport;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The step log of a run, kept on the coordinator's node: for every completed step one line of
 * metrics.jsonl (flushed, so a crash loses at most the step in flight), the Prometheus step series
 * and the console progress. It also holds what the final line reports: the last logged loss and
 * the images per second over the steps this process ran. One writer: the coordinator.
 */
public final class StepLog implements AutoCloseable {
  private static final Pattern STEP = Pattern.compile("\"step\":(\\d+)");

  private final Path file;
  private final CapiMetrics metrics;
  private final long totalSteps;
  private final int batchSize;
  private final long datasetSize;
  private final Duration progressInterval;
  private ConsoleProgress progress; // from the first open: where the run starts
  private BufferedWriter out;
  private double lastLossCapi = Double.NaN;
  private double steppingSeconds;
  private long steppedImages;

  /**
   * @param totalSteps the step count at which the run ends
   * @param datasetSize samples per epoch (for the epoch metric)
   */
  public StepLog(Path file, CapiMetrics metrics, long totalSteps, int batchSize, long datasetSize,
      Duration progressInterval) {
    this.file = file;
    this.metrics = metrics;
    this.totalSteps = totalSteps;
    this.batchSize = batchSize;
    this.datasetSize = datasetSize;
    this.progressInterval = progressInterval;
  }

  /**
   * Continues the log after {@code lastStep} (0 for a fresh start), first dropping lines of later
   * steps: those a failed or killed run logged after its last checkpoint, which are computed again.
   *
   * @param lossAtLastStep the loss the run logged at lastStep (from its checkpoint), NaN for none
   */
  void open(long lastStep, double lossAtLastStep) throws IOException {
    closeFile();
    if (Files.exists(file)) dropLinesAfter(lastStep);
    out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    lastLossCapi = lossAtLastStep;
    if (progress == null) progress = ConsoleProgress.forTraining(totalSteps, lastStep, progressInterval);
  }

  private void dropLinesAfter(long lastStep) throws IOException {
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
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.write(tmp, kept, StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
  }

  /**
   * Step {@code step} (0-based) completed on every rank.
   *
   * @param ranks each rank's report
   * @param arrivalNanos when each rank's report arrived (System.nanoTime)
   * @param seconds the step's wall time at the coordinator
   */
  void record(long step, Map<Integer, Coordinator.StepDone> ranks, Map<Integer, Long> arrivalNanos, double seconds,
      RunSpec.Schedules s) throws IOException {
    int world = ranks.size();
    double lossCapi = 0, lossClust = 0, entropy = 0, gradNorm = 0;
    double dataWait = 0, teacher = 0, sinkhorn = 0, student = 0, allReduce = 0, optimizer = 0;
    long bytes = 0;
    for (Coordinator.StepDone d : ranks.values()) {
      lossCapi += d.lossCapi() / world;
      lossClust += d.lossClustering() / world;
      entropy += d.targetEntropy() / world;
      gradNorm = Math.max(gradNorm, d.gradNorm());
      StepTimings t = d.timings();
      dataWait += t.dataWait() / world;
      teacher += t.teacherForward() / world;
      sinkhorn += t.sinkhorn() / world;
      student += t.student() / world;
      allReduce += t.allReduce() / world;
      optimizer += t.optimizer() / world;
      bytes = Math.max(bytes, t.allReduceBytes());
      metrics.prefetchDepth(d.rank(), t.prefetchDepth());
    }
    long first = arrivalNanos.values().stream().mapToLong(Long::longValue).min().orElse(0);
    for (Map.Entry<Integer, Long> e : arrivalNanos.entrySet()) metrics.rankLag(e.getKey(), (e.getValue() - first) * 1e-9);
    double imgPerSec = batchSize / seconds;
    long stepNumber = step + 1;
    out.write(JsonLine.object().add("step", stepNumber).add("loss_capi", lossCapi).add("loss_clustering", lossClust)
        .add("target_entropy", entropy).add("lr", s.lr(step)).add("momentum", s.momentum(step))
        .add("clustering_lr", s.clusteringLr(step)).add("grad_norm", gradNorm).add("world_size", world)
        .add("step_seconds", seconds, "%.6f").add("img_per_s", imgPerSec, "%.3f")
        .add("data_wait_seconds", dataWait, "%.6f").add("allreduce_seconds", allReduce, "%.6f").toString());
    out.newLine();
    out.flush();
    metrics.stepCompleted(new StepReport(stepNumber, batchSize, lossCapi, lossClust, entropy, s.lr(step),
        s.momentum(step), s.clusteringLr(step), gradNorm, seconds, dataWait, teacher, sinkhorn, student, allReduce,
        optimizer, bytes, world, (int) (step * batchSize / Math.max(1, datasetSize))));
    progress.update(stepNumber, lossCapi, imgPerSec);
    lastLossCapi = lossCapi;
    steppingSeconds += seconds;
    steppedImages += batchSize;
  }

  /** The loss of the last step logged (or of the checkpoint the run continued from). */
  double lastLossCapi() {
    return lastLossCapi;
  }

  /** Images per second over the steps this process ran (0 before the first). */
  double imgPerSecond() {
    return steppingSeconds > 0 ? steppedImages / steppingSeconds : 0;
  }

  private void closeFile() throws IOException {
    if (out != null) out.close();
    out = null;
  }

  /** Ends the progress display (printing its last line) and closes metrics.jsonl. */
  @Override
  public void close() throws IOException {
    if (progress != null) progress.close();
    closeFile();
  }
}
