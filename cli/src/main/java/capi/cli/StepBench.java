package capi.cli;

import capi.config.CapiConfig;
import capi.config.ModelConfig;
import capi.config.OptimConfig;
import capi.config.Overrides;
import capi.engine.Backends;
import capi.engine.Precision;
import capi.engine.Profile;
import capi.engine.StepBenchmark;
import capi.monitoring.JsonLine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * `capi bench --what step`: whole training steps of one worker on synthetic data, with every core
 * of the machine; prints img/s, ms per step, peak RSS and where the time goes per layer kind, then
 * one JSON line.
 */
final class StepBench {
  private static final int WARMUP_STEPS = 3;
  private static final int DEFAULT_STEPS = 20;

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
    if (batch <= 0 || steps <= 0) {
      System.err.println("capi: --batch-size and --steps must be positive");
      return Main.EXIT_BAD_INPUT;
    }
    int threads = Runtime.getRuntime().availableProcessors();
    try (StepBenchmark bench = new StepBenchmark(model, optim, batch,
        Backends.create("cpu", Precision.of(model.precision()), 0, threads))) {
      bench.run(WARMUP_STEPS);
      bench.profile().reset();
      long rssBefore = rssBytes("VmRSS:");
      long cpuBefore = processCpuNanos();
      long nanos = bench.run(steps);
      double coresBusy = (processCpuNanos() - cpuBefore) / (double) nanos;
      long rssAfter = rssBytes("VmRSS:");
      double msPerStep = nanos / 1e6 / steps;
      double imgPerS = (double) batch * steps / (nanos / 1e9);
      long peakRss = rssBytes("VmHWM:");
      System.out.printf("step bench: %s preset, %s, batch %d, %d steps after %d warm-up, %d threads%n",
          c.preset(), model.precision(), batch, steps,
          WARMUP_STEPS, threads);
      System.out.printf("%.1f img/s, %.1f ms/step, peak RSS %.0f MiB; this process kept %.2f of %d cores busy%n",
          imgPerS, msPerStep, peakRss / 1048576.0, coresBusy, threads);
      System.out.printf("RSS %.0f MiB after warm-up, %.0f MiB after the timed steps; backend memory %.0f MiB%n",
          rssBefore / 1048576.0, rssAfter / 1048576.0, bench.backendBytes() / 1048576.0);
      printProfile(bench.profile(), steps, msPerStep);
      options.finish(JsonLine.event("bench").add("what", "step").add("img_per_s", imgPerS, "%.2f")
          .add("ms_per_step", msPerStep, "%.2f").add("peak_rss_bytes", peakRss).add("preset", c.preset())
          .add("batch_size", batch).add("steps", steps).add("threads", threads).add("cores_busy", coresBusy, "%.2f"));
    }
    return Main.EXIT_OK;
  }

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
