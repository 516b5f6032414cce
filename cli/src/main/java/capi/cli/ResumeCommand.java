package capi.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `capi resume`: not built yet (see the open issues). */
@Command(name = "resume", description = "Not built yet.")
public final class ResumeCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Override
  public Integer call() {
    System.err.println("capi: resume is not built yet");
    return Main.EXIT_FAILURE;
  }
}
