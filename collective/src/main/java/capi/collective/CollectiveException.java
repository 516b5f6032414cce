package capi.collective;

/** An all-reduce that cannot finish: a peer went silent or away. The ring must be joined anew. */
public final class CollectiveException extends RuntimeException {
  /** Rank of a peer whose process is known to have died (it cannot come back), or -1. */
  private final int deadRank;

  public CollectiveException(String message) {
    this(message, -1);
  }

  public CollectiveException(String message, int deadRank) {
    super(message);
    this.deadRank = deadRank;
  }

  /**
   * The rank whose process died, when the collective saw it die (the mapped file checks its peers'
   * pids); -1 when the cause is only a silence, which may be a pause or a partition.
   */
  public int deadRank() {
    return deadRank;
  }
}
