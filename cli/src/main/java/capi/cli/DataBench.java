package capi.cli;

/** `capi bench`: not built yet (see the open issues). */
final class DataBench {
  private DataBench() {}

  static int run(BenchCommand options) {
    System.err.println("capi: this benchmark is not built yet");
    return Main.EXIT_FAILURE;
  }
}
