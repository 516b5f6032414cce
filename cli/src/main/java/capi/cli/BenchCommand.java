package capi.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `capi bench`: not built yet (see the open issues). */
@Command(name = "bench", description = "Not built yet.")
public final class BenchCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Override
  public Integer call() {
    System.err.println("capi: bench is not built yet");
    return Main.EXIT_FAILURE;
  }
}
