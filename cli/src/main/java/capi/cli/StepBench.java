package capi.cli;

import capi.config.CapiConfig;
import capi.config.EngineConfig;
import capi.config.ModelConfig;
import capi.config.OptimConfig;
import capi.config.Overrides;
import capi.engine.Backend;
import capi.engine.Backends;
import capi.engine.Precision;
import capi.engine.Profile;
import capi.engine.StepBenchmark;
import capi.engine.Tensor;
import capi.monitoring.JsonLine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * `capi bench --what step`: whole training steps of one worker on synthetic data, with every core
 * of the machine, after a warm-up (--warmup seconds: the JIT compiles the vector code first).
 * Prints img/s of the median step (as the official bench reports), mean and fastest step, model
 * FLOPs per step and their share of the sgemm peak measured in the same process (MFU), the flags
 * of the official CPU bench for the same shapes, peak RSS and the time per layer kind, then one
 * JSON line.
 */
final class StepBench {
  private static final int DEFAULT_STEPS = 20;
  private static final double DEFAULT_WARMUP_SECONDS = 20;
  private static final int PEAK_SIZE = 2048;

  private StepBench() {}

  static int run(BenchCommand options) {
    if (options.workers != null && options.workers != 1) {
      System.err.println("capi: --what step measures a single worker; --workers must be 1");
      return Main.EXIT_BAD_INPUT;
    }
    CapiConfig c = options.common.load(Overrides.none().preset(options.preset));
    ModelConfig model = c.model();
    OptimConfig optim = c.optim();
    int batch = options.batchSize != null ? options.batchSize : c.train().batchSize();
    int steps = options.steps != null ? options.steps : DEFAULT_STEPS;
    double warmup = options.warmupSeconds != null ? options.warmupSeconds : DEFAULT_WARMUP_SECONDS;
    if (batch <= 0 || steps <= 0 || warmup < 0) {
      System.err.println("capi: --batch-size and --steps must be positive, --warmup not negative");
      return Main.EXIT_BAD_INPUT;
    }
    int threads = Runtime.getRuntime().availableProcessors();
    EngineConfig engine = c.engine();
    double peak = peakFlops(engine, threads);
    try (StepBenchmark bench = new StepBenchmark(model, optim, batch, Backends.create(engine, 0, threads))) {
      // the JIT compiles the vector code during the first seconds; measure once it has
      long warmStart = System.nanoTime();
      int warmSteps = 0;
      do {
        bench.step();
        warmSteps++;
      } while (System.nanoTime() - warmStart < warmup * 1e9);
      double warmSeconds = (System.nanoTime() - warmStart) / 1e9;
      bench.profile().reset();
      long rssBefore = rssBytes("VmRSS:");
      long cpuBefore = processCpuNanos();
      long[] times = new long[steps];
      long nanos = 0;
      for (int i = 0; i < steps; i++) nanos += times[i] = bench.step();
      double coresBusy = (processCpuNanos() - cpuBefore) / (double) nanos;
      long rssAfter = rssBytes("VmRSS:");
      long[] sorted = times.clone();
      Arrays.sort(sorted);
      double medianMs = (steps % 2 == 1 ? sorted[steps / 2] : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2.0) / 1e6;
      double meanMs = nanos / 1e6 / steps, minMs = sorted[0] / 1e6;
      double imgPerS = batch / (medianMs / 1e3);
      double flops = StepBenchmark.modelFlops(model, batch), achieved = flops / (medianMs / 1e3);
      long peakRss = rssBytes("VmHWM:");
      System.out.printf("step bench: %s preset, %s, %s, batch %d, %d timed steps after %.1f s of warm-up (%d steps)%n",
          c.preset(), engine.precision().word(), bench.trainer().backendDescription(), batch, steps, warmSeconds, warmSteps);
      System.out.printf("%.1f img/s (median step %.1f ms; mean %.1f, fastest %.1f), peak RSS %.0f MiB;"
          + " this process kept %.2f of %d cores busy%n", imgPerS, medianMs, meanMs, minMs, peakRss / 1048576.0,
          coresBusy, threads);
      System.out.printf("model FLOPs per step %.2f G: %.1f GFLOP/s, MFU %.2f of the matrix-product peak measured here"
          + " (%d^3, %d threads): %.1f GFLOP/s%n", flops / 1e9, achieved / 1e9, achieved / peak, PEAK_SIZE, threads,
          peak / 1e9);
      System.out.printf("RSS %.0f MiB after warm-up, %.0f MiB after the timed steps; backend memory %.0f MiB%n",
          rssBefore / 1048576.0, rssAfter / 1048576.0, bench.backendBytes() / 1048576.0);
      System.out.println("peer: " + peerFlags(model, batch, threads));
      printProfile(bench.profile(), steps, meanMs);
      options.finish(JsonLine.event("bench").add("what", "step").add("img_per_s", imgPerS, "%.2f")
          .add("median_ms_per_step", medianMs, "%.2f").add("ms_per_step", meanMs, "%.2f")
          .add("model_flops_per_step", flops, "%.4g").add("gflops_per_s", achieved / 1e9, "%.2f")
          .add("mfu", achieved / peak, "%.4f").add("sgemm_peak_gflops_per_s", peak / 1e9, "%.2f")
          .add("warmup_s", warmSeconds, "%.1f").add("peak_rss_bytes", peakRss).add("preset", c.preset())
          .add("model", modelShape(model)).add("batch_size", batch).add("steps", steps).add("threads", threads)
          .add("cores_busy", coresBusy, "%.2f"));
    }
    return Main.EXIT_OK;
  }

  /**
   * The best of several PEAK_SIZE³ products on a backend like the step's (same device and
   * precision): the machine's matrix-product peak as this engine reaches it (the denominator of MFU).
   */
  static double peakFlops(EngineConfig engine, int threads) {
    try (Backend be = Backends.create(engine, 0, threads)) {
      Precision precision = be.precision();
      long n = PEAK_SIZE;
      Tensor a = be.allocate(precision.compute(), n * n), b = be.allocate(precision.compute(), n * n);
      Tensor out = be.allocate(precision.master(), n * n);
      be.fill(a, 0.5);
      be.fill(b, 0.25);
      long best = Long.MAX_VALUE;
      float[] probe = new float[1];
      long until = System.nanoTime() + 3_000_000_000L; // the first products also warm the kernel up
      for (int i = 0; i < 3 || System.nanoTime() < until; i++) {
        long t0 = System.nanoTime();
        be.gemm(false, false, PEAK_SIZE, PEAK_SIZE, PEAK_SIZE, 1, a, 0, PEAK_SIZE, b, 0, PEAK_SIZE, 0, out, 0, PEAK_SIZE, 1, 0, 0, 0);
        be.download(out, 0, probe, 0, 1); // waits for a device's product
        best = Math.min(best, System.nanoTime() - t0);
      }
      return 2.0 * n * n * n / (best / 1e9);
    }
  }

  /** The shapes that set the step's cost, e.g. "p7 d128x4 h2 pd128x2 K1024 pred0.5" (overrides change a preset). */
  static String modelShape(ModelConfig m) {
    return String.format(java.util.Locale.ROOT, "%dx%dx%d p%d d%dx%d h%d pd%dx%d h%d R%d K%d mask%s pred%s drop%s",
        m.inChannels(), m.imageHeight(), m.imageWidth(), m.patchSize(), m.dim(), m.depth(), m.heads(), m.predDim(),
        m.predDepth(), m.predHeads(), m.registers(), m.prototypes(), m.maskRatio(), m.predictionSubsampling(),
        m.dropPathRate());
  }

  /** The flags of the official step's CPU bench (shared tools' capi_step_cpu.py) for the same shapes. */
  static String peerFlags(ModelConfig m, int batch, int threads) {
    if (m.imageHeight() != m.imageWidth()) return "(none: the peer takes square images)";
    if (m.predDim() != m.dim() || m.predHeads() != m.heads()) {
      return "(none: the peer's predictor has the encoder's width and heads)";
    }
    return String.format(java.util.Locale.ROOT,
        "capi_step_cpu.py --img %d --in-chans %d --patch %d --dim %d --heads %d --enc-depth %d --dec-depth %d"
            + " --registers %d --clusters %d --batch %d --mask-ratio %s --pred-sub %s --drop-path %s --threads %d",
        m.imageHeight(), m.inChannels(), m.patchSize(), m.dim(), m.heads(), m.depth(), m.predDepth(), m.registers(),
        m.prototypes(), batch, m.maskRatio(), m.predictionSubsampling(), m.dropPathRate(), threads);
  }

  /** Time per layer kind (of the mean step). */
  private static void printProfile(Profile p, int steps, double msPerStep) {
    System.out.printf("%-16s %12s %12s %8s%n", "layer kind", "fwd ms/step", "bwd ms/step", "share");
    double accounted = 0;
    for (Profile.Kind k : Profile.Kind.values()) {
      double f = p.forwardNanos(k) / 1e6 / steps, b = p.backwardNanos(k) / 1e6 / steps;
      accounted += f + b;
      System.out.printf("%-16s %12.1f %12.1f %7.1f%%%n", k.name().toLowerCase(), f, b, 100 * (f + b) / msPerStep);
    }
    double other = msPerStep - accounted; // gathers, token assembly, transfers
    System.out.printf("%-16s %12.1f %12s %7.1f%%%n", "other", other, "", 100 * other / msPerStep);
  }

  /** CPU time of the whole process (all threads), to tell a slow step from a shared machine. */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  /** A line of /proc/self/status in bytes (VmRSS: resident set, VmHWM: its peak), or -1 where there is none. */
  private static long rssBytes(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field)) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }
}
