package capi.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `capi eval`: not built yet (see the open issues). */
@Command(name = "eval", description = "Not built yet.")
public final class EvalCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Override
  public Integer call() {
    System.err.println("capi: eval is not built yet");
    return Main.EXIT_FAILURE;
  }
}
