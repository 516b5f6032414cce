package capi.cli;

import capi.actors.TrainingRun;
import capi.config.BadConfigException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.ScopeType;
import sun.misc.Signal;

/**
 * The `capi` command (docs/CLI.md). Exit status: 0 success; 2 bad usage, configuration or
 * input (one line naming what is wrong); 1 any other failure. Always exits explicitly: a Pekko
 * system or an HTTP server left running would otherwise keep the JVM alive.
 */
@Command(
    name = "capi",
    mixinStandardHelpOptions = true,
    scope = ScopeType.INHERIT, // every subcommand gets --help and --version
    version = "capi 0.1.0",
    description = "CAPI pretraining of vision transformers on the JVM.",
    subcommands = {
      TrainCommand.class,
      ResumeCommand.class,
      NodeCommand.class,
      EvalCommand.class,
      BenchCommand.class,
      ParityCommand.class,
      ExportCommand.class,
      HelpCommand.class
    })
public final class Main implements Runnable {
  public static final int EXIT_OK = 0;
  public static final int EXIT_FAILURE = 1;
  public static final int EXIT_BAD_INPUT = 2;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(new CommandLine(this), "missing command");
  }

  /** 128 + the number of the first signal received (143, 130); 0 before any. */
  private static final AtomicInteger SIGNAL_STATUS = new AtomicInteger();

  /**
   * SIGTERM or SIGINT (a scheduler's pre-emption, Ctrl-C) while a training run is in progress: the
   * run finishes its step, writes a checkpoint and prints its final line with {@code "stopped":"signal"};
   * capi exits 0 (the command's own status). On a `capi node` without the coordinator the node's
   * workers leave after that checkpoint (exit 0); a node that has not trained yet ends at once.
   * Without a run in progress, at a second signal, or when the run has not ended within {@code
   * grace}, capi exits at once with 128 + the signal's number (143, 130), as without a handler; so
   * does a command that a signal ended without a checkpoint (its status would say it failed). A
   * signal ignored when capi started stays ignored.
   */
  private static void stopRunsOnSignals(Duration grace) {
    for (String name : List.of("TERM", "INT")) Signal.handle(new Signal(name), s -> onSignal(128 + s.getNumber(), grace));
  }

  private static void onSignal(int status, Duration grace) {
    if (SIGNAL_STATUS.getAndSet(status) != 0 || !TrainingRun.requestStop()) System.exit(status);
    Thread watchdog = new Thread(() -> {
      try {
        TrainingRun.awaitIdle(grace);
        Thread.sleep(5_000); // main prints the final line and exits meanwhile
      } catch (InterruptedException e) {
        return;
      }
      System.exit(status);
    }, "capi-stop-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
  }

  public static void main(String[] args) {
    stopRunsOnSignals(Duration.ofMinutes(3));
    int status;
    try {
      status = execute(args);
    } catch (Throwable t) { // an Error escapes picocli's handler; the JVM must still exit
      System.err.println("capi: " + t);
      t.printStackTrace(System.err);
      status = EXIT_FAILURE;
    }
    if (status != EXIT_OK && SIGNAL_STATUS.get() != 0) status = SIGNAL_STATUS.get();
    System.out.flush();
    System.exit(status);
  }

  /** Runs a command and returns its exit status (tests call this without exiting). */
  public static int execute(String... args) {
    CommandLine cmd = new CommandLine(new Main());
    cmd.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          Throwable cause = e;
          while (cause != null && !(cause instanceof BadConfigException)) cause = cause.getCause();
          if (cause != null) {
            System.err.println("capi: " + cause.getMessage());
            return EXIT_BAD_INPUT;
          }
          System.err.println("capi: " + e);
          e.printStackTrace(System.err);
          return EXIT_FAILURE;
        });
    cmd.setParameterExceptionHandler(
        (e, a) -> {
          System.err.println("capi: " + e.getMessage());
          System.err.println("Try 'capi --help' or 'capi help COMMAND'.");
          return EXIT_BAD_INPUT;
        });
    return cmd.execute(args);
  }
}
