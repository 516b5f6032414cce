package capi.actors;

/** How a run ended: the final line of `capi train` / `capi resume` (CLI.md). */
public record RunResult(long steps, String runDir, double lossCapi, double imgPerSecond, String error) {

  /** A node without the coordinator: its workers were stopped at the end of the run. */
  static RunResult workerNodeDone() {
    return new RunResult(-1, "", Double.NaN, 0, null);
  }

  /** A node that could not take part in the run any longer, and why (exit 1). */
  static RunResult failed(String why) {
    return new RunResult(-1, "", Double.NaN, 0, why);
  }

  /** Whether this node held the coordinator and so has the run's final line. */
  public boolean hasFinalLine() {
    return steps >= 0;
  }

  public boolean ok() {
    return error == null;
  }

  public String json() {
    return String.format(java.util.Locale.ROOT,
        "{\"event\":\"done\",\"steps\":%d,\"run_dir\":%s,\"loss_capi\":%s,\"img_per_s\":%.2f}",
        steps, capi.engine.checkpoint.Json.quote(runDir), JsonNumbers.of(lossCapi), imgPerSecond);
  }
}
