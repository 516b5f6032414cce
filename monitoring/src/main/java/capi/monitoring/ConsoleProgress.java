package capi.monitoring;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a training run on the console: a progress bar (step, loss, img/s, ETA) in a
 * terminal; otherwise (logs, pipes, CI) a plain JSON line at most once per interval, e.g.
 * {@code {"event":"progress","step":120,"steps":500,"loss_capi":6.91,"img_per_s":410.2,"eta_s":93,"time":…}}.
 */
public final class ConsoleProgress implements AutoCloseable {
  private final long totalSteps;
  private final ProgressBar bar; // null in plain mode
  private final PrintStream out;
  private final long intervalNanos;
  private final LongSupplier nanoClock;
  private long firstStep = -1;
  private long firstNanos;
  private long lastPrintNanos;
  private String lastLine;

  private ConsoleProgress(long totalSteps, ProgressBar bar, PrintStream out, Duration interval, LongSupplier nanoClock) {
    this.totalSteps = totalSteps;
    this.bar = bar;
    this.out = out;
    this.intervalNanos = interval.toNanos();
    this.nanoClock = nanoClock;
  }

  /**
   * A bar on stderr when the JVM has a terminal (System.console() != null), plain lines on
   * stdout at most every {@code interval} otherwise.
   *
   * @param startStep the step the run starts from (non-zero when resuming)
   */
  public static ConsoleProgress forTraining(long totalSteps, long startStep, Duration interval) {
    if (System.console() == null) return plain(totalSteps, interval, System.out, System::nanoTime);
    ProgressBar bar = new ProgressBarBuilder()
        .setTaskName("train").setInitialMax(totalSteps).setStyle(ProgressBarStyle.ASCII)
        .startsFrom(startStep, Duration.ZERO).setUpdateIntervalMillis(500)
        .build();
    return new ConsoleProgress(totalSteps, bar, System.err, interval, System::nanoTime);
  }

  /** Plain periodic lines on out, timed by nanoClock (tests pass a fake clock). */
  public static ConsoleProgress plain(long totalSteps, Duration interval, PrintStream out, LongSupplier nanoClock) {
    return new ConsoleProgress(totalSteps, null, out, interval, nanoClock);
  }

  /** The run completed {@code step}. */
  public void update(long step, double lossCapi, double imgPerSec) {
    if (bar != null) {
      bar.stepTo(step);
      bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f  %.0f img/s", lossCapi, imgPerSec));
      return;
    }
    long now = nanoClock.getAsLong();
    if (firstStep < 0) {
      firstStep = step;
      firstNanos = now;
      lastPrintNanos = now - intervalNanos; // print the first update at once
    }
    lastLine = line(step, lossCapi, imgPerSec, now);
    if (now - lastPrintNanos >= intervalNanos) {
      out.println(lastLine);
      lastPrintNanos = now;
      lastLine = null;
    }
  }

  /** Ends the bar, or prints the last update if the interval held it back. */
  @Override
  public void close() {
    if (bar != null) {
      bar.close();
    } else if (lastLine != null) {
      out.println(lastLine);
      lastLine = null;
    }
    out.flush();
  }

  private String line(long step, double lossCapi, double imgPerSec, long now) {
    String eta = "null";
    if (step > firstStep) {
      double secondsPerStep = (now - firstNanos) / 1e9 / (step - firstStep);
      eta = Long.toString(Math.round(secondsPerStep * Math.max(0, totalSteps - step)));
    }
    return JsonLine.event("progress").add("step", step).add("steps", totalSteps).add("loss_capi", lossCapi, "%.6g")
        .add("img_per_s", imgPerSec, "%.1f").addRaw("eta_s", eta).toString();
  }
}
