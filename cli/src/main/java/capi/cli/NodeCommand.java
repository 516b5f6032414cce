package capi.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `capi node`: not built yet (see the open issues). */
@Command(name = "node", description = "Not built yet.")
public final class NodeCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Override
  public Integer call() {
    System.err.println("capi: node is not built yet");
    return Main.EXIT_FAILURE;
  }
}
