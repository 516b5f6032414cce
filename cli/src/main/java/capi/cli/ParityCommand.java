package capi.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `capi parity`: not built yet (see the open issues). */
@Command(name = "parity", description = "Not built yet.")
public final class ParityCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Override
  public Integer call() {
    System.err.println("capi: parity is not built yet");
    return Main.EXIT_FAILURE;
  }
}
