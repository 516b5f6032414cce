package capi.collective;

import static capi.collective.ChunkHeader.CALL;
import static capi.collective.ChunkHeader.FIRST;
import static capi.collective.ChunkHeader.FORMAT;
import static capi.collective.ChunkHeader.GENERATION;
import static capi.collective.ChunkHeader.LENGTH;
import static capi.collective.ChunkHeader.STEP;

import capi.config.CollectiveConfig;
import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.exceptions.AeronException;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.ControlledFragmentHandler.Action;
import io.aeron.logbuffer.Header;
import java.util.List;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * One rank of a ring all-reduce over Aeron, in the order of {@link RingRank}: each step sends one
 * segment of the buffer to the right neighbour while it receives another from the left. Chunks are
 * written straight from the caller's buffer into the publication's log (tryClaim) and reduced
 * straight from the subscription's log into the caller's buffer: no staging copies and no
 * allocation per call. Chunks carry float32 or bf16 ({@link WireFormat}); ranks add in float32
 * either way. Used by one thread.
 *
 * <p>After a {@link CollectiveException} the ring is broken: close every rank and join again, with
 * a new generation so that chunks still in flight from the old ring are dropped (ChunkHeader).
 * Interrupting the thread in allReduce ends the call with a CollectiveException at once, instead of
 * after the timeout.
 */
public final class RingAllReduce extends RingRank {
  /** Chunks sent before the receive side is polled again, so both directions progress together. */
  private static final int CHUNKS_PER_TURN = 8;
  private static final int FRAGMENTS_PER_POLL = 64;

  private final AeronNode node;
  private final int chunkFloats;
  private final ExclusivePublication toRight; // null when alone
  private final Subscription fromLeft; // null when alone
  private final BufferClaim claim = new BufferClaim();
  private final ControlledFragmentHandler onChunk = this::onChunk;

  // The step in progress: float indices into the buffer.
  private int sendNext;
  private int sendEnd;
  private int recvFirst;
  private int recvEnd;
  private int received;
  private long lastSendResult;
  private String badChunk; // why onChunk refused a chunk: Aeron's poll catches what a handler throws

  private RingAllReduce(
      AeronNode node, CollectiveConfig cfg, WireFormat wire, int generation, int rank, List<Endpoint> endpoints,
      int maxFloats, ExclusivePublication toRight, Subscription fromLeft) {
    super(wire, generation, rank, endpoints, cfg.timeout().toNanos(), maxFloats, "");
    this.node = node;
    this.toRight = toRight;
    this.fromLeft = fromLeft;
    this.chunkFloats = toRight == null ? 0 : wire.maxValues(toRight.maxPayloadLength() - LENGTH);
  }

  /**
   * Joins a ring as {@code rank}; returns once both neighbours are connected, or throws a
   * CollectiveException after the configured timeout. Every rank of the ring must join at the
   * same time with the same generation and endpoints.
   *
   * @param wire how chunks carry the values (every rank of the ring must use the same)
   * @param generation the ring's generation: a re-formed ring must use a new one
   * @param endpoints where each rank receives (ipc or udp), one per rank, in rank order
   * @param maxFloats the largest count any all-reduce of this ring will pass
   */
  static RingAllReduce join(AeronNode node, CollectiveConfig cfg, WireFormat wire, int generation, int rank,
      List<Endpoint> endpoints, int maxFloats) {
    int n = endpoints.size();
    checkJoin(rank, n, maxFloats);
    if (n == 1) return new RingAllReduce(node, cfg, wire, generation, rank, endpoints, maxFloats, null, null);
    int right = (rank + 1) % n;
    Subscription fromLeft = null;
    ExclusivePublication toRight = null;
    try {
      fromLeft = node.aeron().addSubscription(
          RingChannels.subscription(cfg, endpoints.get(rank)), RingChannels.streamId(cfg, rank));
      toRight = node.aeron().addExclusivePublication(
          RingChannels.publication(cfg, endpoints.get(right)), RingChannels.streamId(cfg, right));
      RingAllReduce ring = new RingAllReduce(node, cfg, wire, generation, rank, endpoints, maxFloats, toRight, fromLeft);
      ring.awaitNeighbours();
      return ring;
    } catch (AeronException e) { // e.g. a udp port that another process holds
      CloseHelper.closeAll(toRight, fromLeft);
      throw new CollectiveException("rank " + rank + " of " + n + " (generation " + generation + "): cannot open its links ("
          + endpoints.get(rank).address() + " in, " + endpoints.get(right).address() + " out): " + e.getMessage());
    } catch (RuntimeException e) {
      CloseHelper.closeAll(toRight, fromLeft);
      throw e;
    }
  }

  /**
   * Closes both links. On a healthy ring it first waits (at most the timeout) until the driver has
   * sent everything this rank published: a process that exits right after its last all-reduce
   * would otherwise take the tail of its chunks with it, and its right neighbour would time out.
   */
  @Override
  public void close() {
    if (toRight != null && !isBroken()) awaitSent();
    CloseHelper.closeAll(toRight, fromLeft);
  }

  @Override
  void exchange(int sendFrom, int sendTo, int recvFrom, int recvTo) {
    sendNext = sendFrom;
    sendEnd = sendTo;
    recvFirst = recvFrom;
    recvEnd = recvTo;
    received = 0;
    patience.begin();
    while (sendNext < sendEnd || recvFirst + received < recvEnd) {
      int work = send();
      if (recvFirst + received < recvEnd) work += fromLeft.controlledPoll(onChunk, FRAGMENTS_PER_POLL);
      if (badChunk != null) throw new CollectiveException(badChunk);
      // Threading mode invoker: this thread runs the driver; its work (heartbeats too) is not the ring's progress.
      int driverWork = node.doWork();
      switch (patience.after(work, driverWork == 0)) {
        case TIMED_OUT -> throw stalled();
        case INTERRUPTED -> throw interrupted();
        case GO_ON -> { }
      }
    }
  }

  /** Writes up to CHUNKS_PER_TURN chunks of the send segment; stops early when back-pressured. */
  private int send() {
    int chunks = 0;
    while (sendNext < sendEnd && chunks < CHUNKS_PER_TURN) {
      int floats = Math.min(chunkFloats, sendEnd - sendNext);
      long result = toRight.tryClaim(LENGTH + wire.payloadBytes(floats), claim);
      if (result < 0) {
        lastSendResult = result;
        break;
      }
      MutableDirectBuffer log = claim.buffer();
      int at = claim.offset();
      log.putInt(at + GENERATION, generation);
      log.putInt(at + CALL, call);
      log.putShort(at + STEP, (short) step);
      log.putShort(at + FORMAT, (short) wire.ordinal());
      log.putInt(at + FIRST, sendNext);
      encode(sendNext, floats, log.byteBuffer(), log.wrapAdjustment() + at + LENGTH); // Aeron's logs are mapped byte buffers
      claim.commit();
      sendNext += floats;
      chunks++;
    }
    return chunks;
  }

  private Action onChunk(DirectBuffer log, int offset, int length, Header header) {
    if (log.getInt(offset + GENERATION) != generation) return Action.CONTINUE; // from an old ring
    int chunkCall = log.getInt(offset + CALL);
    int chunkStep = log.getShort(offset + STEP);
    if (chunkCall != call || chunkStep != step) {
      // The left neighbour may run ahead: leave its later chunks in the log until we get there.
      boolean later = chunkCall > call || (chunkCall == call && chunkStep > step);
      return later ? Action.ABORT : Action.CONTINUE;
    }
    if (log.getShort(offset + FORMAT) != wire.ordinal()) {
      badChunk = who() + ": rank " + left() + " sends chunks in wire format " + log.getShort(offset + FORMAT)
          + ", this rank reads " + wire.ordinal() + " (" + wire + "); every rank must use one";
      return Action.ABORT;
    }
    int first = log.getInt(offset + FIRST);
    int floats = wire.values(length - LENGTH, recvEnd - first);
    if (first != recvFirst + received || wire.payloadBytes(floats) != length - LENGTH) {
      badChunk = who() + ": chunk [" + first + ", +" + floats + ") from rank " + left() + " does not continue segment ["
          + recvFirst + ", " + recvEnd + ") at " + (recvFirst + received);
      return Action.ABORT;
    }
    take(log.byteBuffer(), log.wrapAdjustment() + offset + LENGTH, first, floats);
    received += floats;
    return recvFirst + received == recvEnd ? Action.BREAK : Action.CONTINUE;
  }

  /** The driver keeps its limit half a term ahead of what it has sent (IPC: of what was read). */
  private void awaitSent() {
    long deadline = System.nanoTime() + timeoutNs;
    long window = toRight.termBufferLength() / 2;
    while (toRight.isConnected() && toRight.positionLimit() - window < toRight.position()
        && System.nanoTime() - deadline < 0 && !Thread.currentThread().isInterrupted()) {
      if (node.doWork() == 0) patience.idle();
    }
  }

  private void awaitNeighbours() {
    long deadline = System.nanoTime() + timeoutNs;
    while (!(toRight.isConnected() && fromLeft.isConnected())) {
      if (System.nanoTime() - deadline > 0) {
        int missing = toRight.isConnected() ? left() : right();
        throw new CollectiveException(who() + ": rank " + missing + " (" + endpoints.get(missing).address()
            + ") did not join generation " + generation + " within " + timeoutNs / 1_000_000 + " ms");
      }
      if (node.doWork() == 0) patience.idle();
    }
    patience.reset();
  }

  private CollectiveException stalled() {
    String where = stalledWhere() + linkState();
    if (recvFirst + received < recvEnd) {
      return new CollectiveException(who() + ": no data from rank " + left() + " (left neighbour, "
          + endpoints.get(left()).address() + ")" + where + ", " + received + " of " + (recvEnd - recvFirst) + " floats received");
    }
    String why = lastSendResult == Publication.NOT_CONNECTED ? "it is gone"
        : lastSendResult == Publication.BACK_PRESSURED ? "it stopped reading" : "publication result " + lastSendResult;
    return new CollectiveException(who() + ": rank " + right() + " (right neighbour, " + endpoints.get(right()).address()
        + ") accepted no data" + where + " (" + why + ")");
  }

  /** Aeron's view of both links, for the error message. */
  private String linkState() {
    StringBuilder b = new StringBuilder(" [to right: position ").append(toRight.position())
        .append(", limit ").append(toRight.positionLimit()).append(", connected ").append(toRight.isConnected())
        .append("; from left:");
    fromLeft.forEachImage(image -> b.append(" image ").append(image.sessionId()).append(" at ").append(image.position())
        .append(image.isClosed() ? " (closed)" : ""));
    return b.append("]").toString();
  }
}
