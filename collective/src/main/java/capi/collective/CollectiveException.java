package capi.collective;

/** An all-reduce that cannot finish: a peer went silent or away. The ring must be joined anew. */
public final class CollectiveException extends RuntimeException {
  public CollectiveException(String message) {
    super(message);
  }
}
