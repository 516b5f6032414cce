package capi.actors;

import capi.monitoring.JsonLine;

/**
 * How a run ended: the final line of `capi train` / `capi resume` (CLI.md).
 *
 * @param stopped why a run ended before its last step with a checkpoint ({@link #SIGNAL}, {@link
 *     #MAX_MINUTES}); null when it reached its last step or failed
 * @param error why it failed; null when it did not
 * @param badInput a failure of the input (a dataset with no readable image), not of the system: exit 2
 */
public record RunResult(long steps, String runDir, double lossCapi, double imgPerSecond, String stopped, String error,
    boolean badInput) {
  /** Stopped by SIGTERM or SIGINT (a scheduler's pre-emption, Ctrl-C). */
  public static final String SIGNAL = "signal";
  /** Stopped by capi.train.max-minutes. */
  public static final String MAX_MINUTES = "max-minutes";

  /** A run that ended with a checkpoint of its last step; {@code stopped} as above. */
  static RunResult finished(long steps, String runDir, double lossCapi, double imgPerSecond, String stopped) {
    return new RunResult(steps, runDir, lossCapi, imgPerSecond, stopped, null, false);
  }

  /**
   * A run that failed, or a node that could not take part in it any longer, and why: exit 1, or 2
   * when {@code badInput}. Only the error is reported (no final line).
   */
  static RunResult failed(String error, boolean badInput) {
    return new RunResult(-1, "", Double.NaN, 0, null, error, badInput);
  }

  /** A node without the coordinator: its workers were stopped at the end of the run. */
  static RunResult workerNodeDone() {
    return finished(-1, "", Double.NaN, 0, null);
  }

  /** Whether this node held the coordinator and so has the run's final line. */
  public boolean hasFinalLine() {
    return steps >= 0;
  }

  public boolean ok() {
    return error == null;
  }

  public String json() {
    JsonLine line = JsonLine.event("done").add("steps", steps).add("run_dir", runDir).add("loss_capi", lossCapi)
        .add("img_per_s", imgPerSecond, "%.2f");
    if (stopped != null) line.add("stopped", stopped);
    return line.toString();
  }
}
