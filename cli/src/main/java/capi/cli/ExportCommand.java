package capi.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `capi export`: not built yet (see the open issues). */
@Command(name = "export", description = "Not built yet.")
public final class ExportCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Override
  public Integer call() {
    System.err.println("capi: export is not built yet");
    return Main.EXIT_FAILURE;
  }
}
