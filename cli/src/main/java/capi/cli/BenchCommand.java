package capi.cli;

import capi.monitoring.JsonLine;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * `capi bench`: throughput benchmarks; each kind lives in its own class and ends with one JSON line
 * through {@link Results} (printed, and appended to results/bench.jsonl).
 */
@Command(name = "bench", description = "Throughput benchmark: step | allreduce | data.")
public final class BenchCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Option(names = "--what", defaultValue = "step", description = "step | allreduce | data")
  String what;

  @Option(names = "--preset", description = "Model preset (default: capi.preset).")
  String preset;

  @Option(names = "--batch-size", description = "Global batch of one step.")
  Integer batchSize;

  @Option(names = "--workers", description = "Workers (all-reduce ranks).")
  Integer workers;

  @Option(names = "--steps", description = "Timed steps or iterations.")
  Integer steps;

  @Option(names = "--bytes", description = "All-reduce payload in bytes (default: 1, 4, 16, 64 MiB).")
  Long bytes;

  @Option(names = "--dataset", description = "Dataset SPEC for --what data.")
  String dataset;

  @Option(names = "--wire", defaultValue = "fp32", description = "How all-reduce rings send values: fp32 | bf16.")
  String wire;

  @Option(names = "--hosts", split = ",", paramLabel = "ADDR,ADDR,...",
      description = "All-reduce between hosts: one ring rank per address (rank r at the r-th; over TCP, or Aeron udp with"
          + " -Dcapi.collective.ring=aeron); run it once per host with --rank.")
  java.util.List<String> hosts;

  @Option(names = "--rank", description = "This process's rank with --hosts.")
  Integer rank;

  @Option(names = "--results", paramLabel = "FILE",
      description = "Append the result here (default: results/bench.jsonl of the checkout ./capi runs from).")
  Path results;

  /** Prints the bench's final line and appends it to the results. */
  void finish(JsonLine line) {
    Results.finish(line, "bench", results);
  }

  @Option(names = "--warmup", description = "Seconds of untimed steps before --what step measures (default 20).")
  Double warmupSeconds;

  @Override
  public Integer call() throws Exception {
    return switch (what) {
      case "step" -> StepBench.run(this);
      case "allreduce" -> AllReduceBench.run(this);
      case "data" -> DataBench.run(this);
      default -> {
        System.err.println("capi: --what " + what + ": must be one of step, allreduce, data");
        yield Main.EXIT_BAD_INPUT;
      }
    };
  }
}
