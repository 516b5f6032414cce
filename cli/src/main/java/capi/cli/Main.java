package capi.cli;

import capi.actors.TrainingRun;
import capi.config.BadConfigException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.ScopeType;

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

  /** Opened when main is about to exit, so a SIGTERM hook can wait for the final checkpoint and line. */
  private static final CountDownLatch EXITING = new CountDownLatch(1);

  /**
   * On SIGTERM or SIGINT (pre-emption, Ctrl-C): a training run finishes its step, writes a
   * checkpoint and prints its final line before the JVM ends (bounded by {@code grace}).
   */
  private static void checkpointOnSignal(Duration grace) {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (!TrainingRun.requestStop()) return;
      try {
        TrainingRun.awaitIdle(grace);
        EXITING.await(5, TimeUnit.SECONDS); // main prints the final line, then exits
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "capi-stop-on-signal"));
  }

  public static void main(String[] args) {
    checkpointOnSignal(Duration.ofMinutes(3));
    int status;
    try {
      status = execute(args);
    } catch (Throwable t) { // an Error escapes picocli's handler; the JVM must still exit
      System.err.println("capi: " + t);
      t.printStackTrace(System.err);
      status = EXIT_FAILURE;
    }
    EXITING.countDown();
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
