package capi.cli;

import capi.engine.GoldenParity;
import capi.engine.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `capi parity GOLDEN_DIR`: runs the reference's golden iterations (testdata/golden/README.md) with
 * the engine and compares every tensor; prints a table, then `parity PASS max_rel_err=…` or
 * `parity FAIL …` (exit 1).
 */
@Command(name = "parity", description = "Run the golden iterations of GOLDEN_DIR and compare every tensor.")
public final class ParityCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Parameters(index = "0", paramLabel = "GOLDEN_DIR", description = "A golden fixture (manifest.json + .npy), e.g. testdata/golden/capi-tiny-a.")
  Path dir;

  @Option(names = "--precision", defaultValue = "both", description = "float64 | float32 | both (default: both).")
  String precision;

  @Override
  public Integer call() throws IOException {
    List<Precision> precisions = switch (precision) {
      case "float64" -> List.of(Precision.FLOAT64);
      case "float32" -> List.of(Precision.FLOAT32);
      case "both" -> List.of(Precision.FLOAT64, Precision.FLOAT32);
      default -> null;
    };
    if (precisions == null) {
      System.err.println("capi: --precision " + precision + ": must be float64, float32 or both");
      return Main.EXIT_BAD_INPUT;
    }
    if (!Files.isRegularFile(dir.resolve("manifest.json"))) {
      System.err.println("capi: " + dir + ": not a golden directory (no manifest.json)");
      return Main.EXIT_BAD_INPUT;
    }
    double worst = 0;
    int failed = 0, total = 0;
    String worstKey = "";
    for (Precision p : precisions) {
      GoldenParity.Result r = GoldenParity.run(dir, p);
      String tag = p == Precision.FLOAT64 ? "float64" : "float32";
      System.out.printf("%-8s %-84s %10s %8s%n", "precision", "tensor", "rel_err", "tol");
      for (GoldenParity.Row row : r.rows()) {
        System.out.printf("%-8s %-84s %10.3e %8.0e %s%n", tag, row.key(), row.relErr(), row.tolerance(), row.ok() ? "ok" : "FAIL");
        total++;
        if (!row.ok()) failed++;
        if (row.relErr() > worst) {
          worst = row.relErr();
          worstKey = tag + " " + row.key();
        }
      }
    }
    if (failed == 0) {
      System.out.printf("parity PASS max_rel_err=%.3e%n", worst);
      return Main.EXIT_OK;
    }
    System.out.printf("parity FAIL %d of %d tensors off; max_rel_err=%.3e (%s)%n", failed, total, worst, worstKey);
    return Main.EXIT_FAILURE;
  }
}
