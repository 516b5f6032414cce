package capi.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** `capi train`: not built yet (see the open issues). */
@Command(name = "train", description = "Not built yet.")
public final class TrainCommand implements Callable<Integer> {
  @Mixin CommonOptions common;

  @Override
  public Integer call() {
    System.err.println("capi: train is not built yet");
    return Main.EXIT_FAILURE;
  }
}
