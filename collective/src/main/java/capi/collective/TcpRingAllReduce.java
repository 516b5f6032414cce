package capi.collective;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import org.agrona.CloseHelper;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

/**
 * One rank of a ring all-reduce over TCP (capi.collective.ring = tcp), in the order of
 * {@link RingRank}, over one connection to each neighbour. Where a link's MTU is 1500 or 9000
 * bytes, the kernel's segmentation and receive offloads move a TCP stream in far fewer, larger
 * units than the Aeron ring's datagrams of one MTU each. A rank listens at its udp endpoint's
 * host and port (TCP has its own port space), connects to its right neighbour and accepts its left
 * one. Values stream in the wire format (WireFormat) in chunks of {@link #CHUNK_VALUES} without
 * headers of their own: TCP keeps them in order, and both sides know the schedule. float32 is
 * written straight from the caller's buffer and, in the all-gather, read straight into it; bf16 and
 * the reduce-scatter's incoming values pass through one chunk-sized staging buffer each way. Used
 * by one thread; no allocation per call.
 *
 * <pre>
 * hello: once, the connecting rank to its right neighbour; 16 bytes in native byte order
 *   offset size field
 *        0    4 magic       0x43415049 ("CAPI")
 *        4    4 generation  the ring's: the acceptor closes a connection of another generation
 *        8    4 rank        the sender's: the acceptor's left neighbour
 *       12    4 format      WireFormat ordinal: every rank of a ring uses one
 * call header: before each call's values, 16 bytes
 *        0    4 call        1 for the ring's first all-reduce, +1 per call
 *        4    4 count       floats of the call
 *        8    4 op          ReduceOp ordinal
 *       12    4 (zero)
 * </pre>
 *
 * <p>After a {@link CollectiveException} the ring is broken: close every rank and join again with
 * a new generation. A neighbour that sends or accepts nothing for capi.collective.timeout fails the
 * call. A connection that ends counts as such a silence, and the message says it ended: as on the
 * Aeron ring, the failure comes after the timeout, by when the cluster's failure detector has seen
 * a dead node and the coordinator re-forms the ring without it (a neighbour that closed its ring
 * and one whose process died look alike on the wire).
 */
public final class TcpRingAllReduce extends RingRank {
  /** Values per chunk: 128 KiB of float32, 64 KiB of bf16 on the wire. */
  static final int CHUNK_VALUES = 32 * 1024;
  private static final int MAGIC = 0x4341_5049;
  private static final int HEADER = 16;
  private static final long CONNECT_RETRY_NS = 20_000_000;
  private static final long HELLO_WAIT_NS = 1_000_000_000;
  private static final ReduceOp[] OPS = ReduceOp.values();

  private final SocketChannel toRight; // null when alone
  private final SocketChannel fromLeft; // null when alone
  private final ByteBuffer headerOut = header();
  private final ByteBuffer headerIn = header();
  private final ByteBuffer sendStage = stage();
  private final ByteBuffer recvStage = stage();
  private ByteBuffer sendView; // views of the caller's buffer whose position and limit move
  private ByteBuffer recvView;

  // The step in progress: float indices into the buffer.
  private int sendNext; // first float not yet staged for sending
  private int sendEnd;
  private ByteBuffer out = ByteBuffer.allocate(0); // being written: the header, sendStage or sendView
  private int recvNext; // first float not yet asked for
  private int recvEnd;
  private ByteBuffer in; // being filled: headerIn, recvStage or recvView; null when the step has all it needs
  private int stagedFirst; // the chunk in recvStage: first float and count
  private int stagedValues;
  private long sentBytes;
  private long receivedBytes;
  private String rightEnded; // why the connection to the right ended; null while it stands
  private String leftEnded;

  private TcpRingAllReduce(WireFormat wire, int generation, int rank, List<Endpoint> endpoints, long timeoutNs,
      int maxFloats, SocketChannel toRight, SocketChannel fromLeft) {
    super(wire, generation, rank, endpoints, timeoutNs, maxFloats, ", tcp");
    this.toRight = toRight;
    this.fromLeft = fromLeft;
  }

  /**
   * Joins a ring as {@code rank}: listens at its own endpoint, connects to its right neighbour's and
   * accepts its left neighbour; returns once both connections have said hello, or throws a
   * CollectiveException after {@code timeoutNs}. Every rank must join at about the same time with the
   * same generation, wire format and endpoints.
   *
   * @param endpoints every rank's udp endpoint, in rank order (its host and port)
   */
  static TcpRingAllReduce join(WireFormat wire, long timeoutNs, int generation, int rank, List<Endpoint> endpoints,
      int maxFloats) {
    int n = endpoints.size();
    checkJoin(rank, n, maxFloats);
    if (n == 1) return new TcpRingAllReduce(wire, generation, rank, endpoints, timeoutNs, maxFloats, null, null);
    return new Joiner(wire, timeoutNs, generation, rank, endpoints, maxFloats).run();
  }

  @Override
  void newBuffer(ByteBuffer buffer) {
    sendView = buffer.duplicate().clear();
    recvView = buffer.duplicate().clear();
  }

  /** The call's header goes out first, and the left neighbour's comes in first. */
  @Override
  void beginCall() {
    headerOut.clear();
    headerOut.putInt(0, call).putInt(4, count).putInt(8, op.ordinal()).putInt(12, 0);
    out = headerOut;
    headerIn.clear();
    in = headerIn;
  }

  /** Closes both connections; what this rank wrote still reaches its neighbour (TCP's orderly close). */
  @Override
  public void close() {
    CloseHelper.closeAll(toRight, fromLeft);
  }

  @Override
  void exchange(int sendFrom, int sendTo, int recvFrom, int recvTo) {
    sendNext = sendFrom;
    sendEnd = sendTo;
    recvNext = recvFrom;
    recvEnd = recvTo;
    if (in == null) nextReceive(); // else the call's header comes first
    patience.begin();
    while (out.hasRemaining() || sendNext < sendEnd || in != null) {
      switch (patience.after(send() + receive(), true)) {
        case TIMED_OUT -> throw stalled();
        case INTERRUPTED -> throw interrupted();
        case GO_ON -> { }
      }
    }
  }

  /** Writes what the right neighbour's socket takes; bytes written (0: back-pressured, done, or the connection ended). */
  private long send() {
    long written = 0;
    try {
      while (rightEnded == null) {
        if (!out.hasRemaining()) {
          if (sendNext == sendEnd) return written;
          stageNextSend();
        }
        int n = toRight.write(out);
        if (n == 0) return written;
        written += n;
        sentBytes += n;
      }
    } catch (IOException e) {
      rightEnded = e.toString();
    }
    return written;
  }

  /** float32: the rest of the segment straight from the buffer; bf16: the next chunk, encoded. */
  private void stageNextSend() {
    if (wire == WireFormat.FP32) {
      sendView.limit(sendEnd * Float.BYTES).position(sendNext * Float.BYTES);
      sendNext = sendEnd;
      out = sendView;
      return;
    }
    int c = Math.min(CHUNK_VALUES, sendEnd - sendNext);
    sendStage.clear(); // the Vector API's stores check the limit
    encode(sendNext, c, sendStage, 0);
    sendStage.limit(wire.payloadBytes(c));
    sendNext += c;
    out = sendStage;
  }

  /** Reads what the left neighbour has sent, as far as this step needs; bytes read (0 also once the connection ended). */
  private long receive() {
    long read = 0;
    try {
      while (in != null && leftEnded == null) {
        if (!in.hasRemaining()) {
          consume();
          continue;
        }
        int n = fromLeft.read(in);
        if (n < 0) {
          leftEnded = "the connection ended";
        } else if (n == 0) {
          return read;
        } else {
          read += n;
          receivedBytes += n;
        }
      }
    } catch (IOException e) {
      leftEnded = e.toString();
    }
    return read;
  }

  /** A full header or chunk has arrived: check or reduce it, then ask for the next. */
  private void consume() {
    if (in == headerIn) {
      checkHeader();
    } else if (in == recvStage) {
      take(recvStage, 0, stagedFirst, stagedValues);
    } // recvView: the values are already in place
    nextReceive();
  }

  /** Where the next values of this step go: straight into the buffer (float32 all-gather), or a chunk into recvStage; null when done. */
  private void nextReceive() {
    if (recvNext == recvEnd) {
      in = null;
    } else if (wire == WireFormat.FP32 && !combining) {
      recvView.limit(recvEnd * Float.BYTES).position(recvNext * Float.BYTES);
      recvNext = recvEnd;
      in = recvView;
    } else {
      stagedFirst = recvNext;
      stagedValues = Math.min(CHUNK_VALUES, recvEnd - recvNext);
      recvStage.limit(wire.payloadBytes(stagedValues)).position(0);
      recvNext += stagedValues;
      in = recvStage;
    }
  }

  private void checkHeader() {
    int theirCall = headerIn.getInt(0);
    if (theirCall != call) {
      throw new CollectiveException(who() + ": rank " + left() + " is in all-reduce call " + theirCall + ", this rank in " + call);
    }
    int theirCount = headerIn.getInt(4);
    int theirOp = headerIn.getInt(8);
    if (theirCount != count || theirOp != op.ordinal()) {
      throw new CollectiveException(AllReduce.callMismatch(who(), left(), theirCount,
          theirOp >= 0 && theirOp < OPS.length ? OPS[theirOp] : null, count, op));
    }
  }

  private CollectiveException stalled() {
    String where = stalledWhere() + " [sent " + sentBytes + " bytes, received " + receivedBytes + "]";
    if (in != null) {
      return new CollectiveException(who() + ": no data from rank " + left() + " (left neighbour, "
          + endpoints.get(left()).address() + ")" + where + (leftEnded == null ? "" : ": " + leftEnded));
    }
    return new CollectiveException(who() + ": rank " + right() + " (right neighbour, " + endpoints.get(right()).address()
        + ") accepted no data" + where + (rightEnded == null ? " (it stopped reading)" : ": " + rightEnded));
  }

  private static ByteBuffer header() {
    return ByteBuffer.allocateDirect(HEADER).order(ByteOrder.nativeOrder());
  }

  private static ByteBuffer stage() {
    return ByteBuffer.allocateDirect(CHUNK_VALUES * Float.BYTES).order(ByteOrder.nativeOrder());
  }

  private static InetSocketAddress address(Endpoint endpoint) {
    if (endpoint instanceof Endpoint.Udp udp) return new InetSocketAddress(udp.host(), udp.port());
    throw new IllegalArgumentException("a tcp ring runs between udp endpoints (host and port), not " + endpoint);
  }

  /**
   * The join of one rank, without blocking: connect to the right (again while it is not listening
   * yet), say hello; accept from the left until a connection of this generation says hello; both
   * within the timeout.
   */
  private static final class Joiner {
    private final WireFormat wire;
    private final long timeoutNs;
    private final int generation;
    private final int rank;
    private final List<Endpoint> endpoints;
    private final int maxFloats;
    private final int n;
    private final ByteBuffer hello = header();
    private final ByteBuffer theirHello = header();
    private final IdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);
    private ServerSocketChannel listener;
    private SocketChannel toRight;
    private SocketChannel accepted; // saying hello, not yet known to be the left neighbour of this generation
    private long acceptedAt;
    private SocketChannel fromLeft;
    private long connectAgainAt;

    Joiner(WireFormat wire, long timeoutNs, int generation, int rank, List<Endpoint> endpoints, int maxFloats) {
      this.wire = wire;
      this.timeoutNs = timeoutNs;
      this.generation = generation;
      this.rank = rank;
      this.endpoints = endpoints;
      this.maxFloats = maxFloats;
      this.n = endpoints.size();
      hello.putInt(0, MAGIC).putInt(4, generation).putInt(8, rank).putInt(12, wire.ordinal());
    }

    TcpRingAllReduce run() {
      Endpoint own = endpoints.get(rank);
      Endpoint right = endpoints.get((rank + 1) % n);
      try {
        try {
          listener = ServerSocketChannel.open();
          listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
          listener.bind(address(own));
          listener.configureBlocking(false);
        } catch (IOException e) {
          throw new CollectiveException(who() + ": cannot listen at " + own.address() + ": " + e);
        }
        long deadline = System.nanoTime() + timeoutNs;
        while (hello.hasRemaining() || fromLeft == null) {
          int work = connect(right) + accept();
          if (System.nanoTime() - deadline > 0) {
            int missing = hello.hasRemaining() ? (rank + 1) % n : (rank + n - 1) % n;
            throw new CollectiveException(who() + ": rank " + missing + " (" + endpoints.get(missing).address()
                + ") did not join generation " + generation + " within " + timeoutNs / 1_000_000 + " ms");
          }
          if (Thread.currentThread().isInterrupted()) throw new CollectiveException(who() + ": interrupted while joining");
          if (work > 0) idle.reset(); else idle.idle();
        }
        CloseHelper.quietClose(listener);
        return new TcpRingAllReduce(wire, generation, rank, endpoints, timeoutNs, maxFloats, toRight, fromLeft);
      } catch (RuntimeException e) {
        CloseHelper.quietCloseAll(listener, toRight, accepted, fromLeft);
        throw e;
      }
    }

    /** Connects to the right neighbour (again after a refusal: it may not listen yet) and writes the hello. */
    private int connect(Endpoint right) {
      try {
        if (toRight == null) {
          if (System.nanoTime() - connectAgainAt < 0) return 0;
          toRight = SocketChannel.open();
          toRight.configureBlocking(false);
          toRight.setOption(StandardSocketOptions.TCP_NODELAY, true);
          if (toRight.connect(address(right))) checkNotSelf();
          return 1;
        }
        if (toRight.isConnectionPending()) {
          if (!toRight.finishConnect()) return 0;
          checkNotSelf();
          return 1;
        }
        return hello.hasRemaining() ? toRight.write(hello) : 0;
      } catch (IOException refused) { // not listening yet, or gone again: try anew a little later
        CloseHelper.quietClose(toRight);
        toRight = null;
        hello.clear();
        connectAgainAt = System.nanoTime() + CONNECT_RETRY_NS;
        return 0;
      }
    }

    /**
     * A connection to a port of this host that nobody listens on yet can get that very port as its
     * source (the port is in the ephemeral range): it then talks to itself and holds the port.
     */
    private void checkNotSelf() throws IOException {
      if (toRight.getLocalAddress().equals(toRight.getRemoteAddress())) throw new IOException("connected to itself");
    }

    /** Accepts connections until one of this generation from the left neighbour has said hello. */
    private int accept() {
      if (fromLeft != null) return 0;
      try {
        if (accepted == null) {
          accepted = listener.accept();
          if (accepted == null) return 0;
          accepted.configureBlocking(false);
          acceptedAt = System.nanoTime();
          theirHello.clear();
        }
        int read = accepted.read(theirHello);
        if (read < 0) throw new IOException("closed before its hello");
        if (theirHello.hasRemaining()) {
          // A rank writes its hello as soon as it is connected: a connection that says nothing
          // (a port scan, a stuck client) must not keep the left neighbour waiting behind it.
          if (read == 0 && System.nanoTime() - acceptedAt > HELLO_WAIT_NS) throw new IOException("no hello");
          return read;
        }
        int left = (rank + n - 1) % n;
        if (theirHello.getInt(0) != MAGIC || theirHello.getInt(4) != generation) { // not capi, or an old ring's rank
          CloseHelper.quietClose(accepted);
          accepted = null;
          return 1;
        }
        if (theirHello.getInt(8) != left) {
          throw new CollectiveException(who() + ": rank " + theirHello.getInt(8) + " connected where rank " + left
              + " (the left neighbour) should; do the ranks agree on the endpoints?");
        }
        if (theirHello.getInt(12) != wire.ordinal()) {
          throw new CollectiveException(who() + ": rank " + left + " sends in wire format " + theirHello.getInt(12)
              + ", this rank reads " + wire.ordinal() + " (" + wire + "); every rank must use one");
        }
        fromLeft = accepted;
        accepted = null;
        return 1;
      } catch (IOException e) { // that connection broke: accept the next
        CloseHelper.quietClose(accepted);
        accepted = null;
        return 0;
      }
    }

    private String who() {
      return "rank " + rank + " of " + n + " (generation " + generation + ", tcp)";
    }
  }
}
