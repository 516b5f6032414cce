package capi.collective;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The memory-mapped file in which the ranks of one host meet (MappedAllReduce): a header with a
 * barrier, and the data slots. Rank 0 creates it (written in full under a temporary name, then
 * renamed: a peer sees all of it or nothing); the others wait for it and check its header.
 *
 * <p>Layout (native byte order; n ranks, slot size C, a multiple of 4096):
 * <pre>
 * offset            bytes  field
 * 0                 8      magic "CAPISHM1" (0x43415049_53484d31)
 * 8                 4      version (1)
 * 12                4      world size n
 * 16                4      generation
 * 20                4      slot bytes C
 * 24                8      creator pid (rank 0's process)
 * 32                8      creator token (rank 0's node token: NodeToken)
 * 64                8      arrivals: bits 0-39 the count of barrier arrivals, 40-43 reason code,
 *                          44-51 subject rank, 52-59 breaker rank, 62 BROKEN
 * 128 + 64 r        64     rank r, one cache line: pid (8), reached barrier (8), float count (4)
 *                          and op ordinal (4) of its current all-reduce call
 * D = 128 + 64 n rounded up to 4096:
 * D + (2 r + k) C   C      in[r][k], k = 0, 1: rank r's input slots (double-buffered)
 * D + (2 n + k) C   C      out[k], k = 0, 1: the reduced chunk
 * </pre>
 * Barrier b (1 = the join) is passed once the arrival count reaches n·b. The reason of a break
 * lives in the same word as the count, so that breaking is one compare-and-set against the count a
 * waiter saw: a rank arriving at that moment either is counted (the waiter goes on) or finds the
 * group broken, and a peer never sees the BROKEN bit without its reason.
 */
final class MappedGroup implements AutoCloseable {
  static final String PREFIX = "capi-allreduce-";
  static final int MAX_RANKS = 255;
  private static final long MAGIC = 0x43415049_53484d31L;
  private static final int VERSION = 1;
  private static final int MAGIC_AT = 0;
  private static final int VERSION_AT = 8;
  private static final int WORLD_AT = 12;
  private static final int GENERATION_AT = 16;
  private static final int SLOT_AT = 20;
  private static final int CREATOR_PID_AT = 24;
  private static final int CREATOR_TOKEN_AT = 32;
  private static final int ARRIVALS_AT = 64;
  private static final int RANKS_AT = 128;
  private static final int RANK_BYTES = 64;
  private static final int PID = 0;
  private static final int REACHED = 8;
  private static final int COUNT = 16;
  private static final int OP = 20;
  private static final int PAGE = 4096;

  private static final ReduceOp[] OPS = ReduceOp.values(); // values() copies the array on every call
  private static final long COUNT_MASK = (1L << 40) - 1;
  private static final long BROKEN = 1L << 62;

  /**
   * Why a group was broken (the arrivals word's reason code). OUTSIDE: the breaker's part of a
   * larger all-reduce failed elsewhere (HierarchicalAllReduce: a leader's ring between hosts).
   */
  enum Reason { LEFT, TIMEOUT, DIED, INTERRUPTED, MISMATCH, OUTSIDE }

  /**
   * A waiter spins briefly, yields (a peer that shares its core gets to run), then sleeps in short
   * parks: nobody in another process can unpark it. Every millisecond of waiting it checks that the
   * missing peers' processes still run.
   */
  private static final int SPINS = 100;
  private static final int YIELDS = 200;
  private static final long PARK_NS = 30_000;
  private static final long LIVENESS_PERIOD_NS = 1_000_000;

  final Path path;
  final int rank;
  final int worldSize;
  final int generation;
  final int slotBytes;
  private final List<NodeToken> ranks; // where each rank's process is (its node's token)
  private final long timeoutNs;
  private final String who;
  private final MappedByteBuffer mapped;
  private final UnsafeBuffer header;
  private final long data; // address of in[0][0]

  private MappedGroup(Path path, List<NodeToken> ranks, int rank, int generation, int slotBytes, long timeoutNs,
      String who, MappedByteBuffer mapped) {
    this.path = path;
    this.rank = rank;
    this.worldSize = ranks.size();
    this.generation = generation;
    this.slotBytes = slotBytes;
    this.ranks = ranks;
    this.timeoutNs = timeoutNs;
    this.who = who;
    this.mapped = mapped;
    this.header = new UnsafeBuffer(mapped, 0, dataOffset(worldSize));
    this.data = header.addressOffset() + dataOffset(worldSize);
  }

  /**
   * Maps the group file of {@code generation} named by rank 0's token: rank 0 creates it, the
   * others wait for it (until the timeout, or until rank 0's process is gone) and check its header.
   * Then claims {@code rank}'s place; does not wait for the peers (the join barrier does).
   *
   * @param who how the rank names itself in messages
   */
  static MappedGroup open(List<NodeToken> ranks, int generation, int rank, int slotBytes, long timeoutNs, String who) {
    int n = ranks.size();
    if (n > MAX_RANKS) throw new IllegalArgumentException(n + " ranks on one host; at most " + MAX_RANKS);
    long size = dataOffset(n) + (2L * n + 2) * slotBytes;
    if (size > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a mapped group of " + n + " ranks with " + slotBytes + "-byte slots needs "
          + size + " bytes; at most " + Integer.MAX_VALUE);
    }
    NodeToken creator = ranks.get(0);
    Path path = creator.groupFile(generation);
    MappedByteBuffer mapped = rank == 0 ? create(path, creator, n, generation, slotBytes, size)
        : await(path, creator, size, timeoutNs, who);
    MappedGroup group = new MappedGroup(path, ranks, rank, generation, slotBytes, timeoutNs, who, mapped);
    try {
      group.check(creator, n, generation, slotBytes);
      if (!group.header.compareAndSetLong(rankAt(rank) + PID, 0, ProcessHandle.current().pid())) {
        throw new IllegalStateException(who + ": the place is taken (by pid " + group.header.getLongVolatile(rankAt(rank) + PID)
            + ") in " + path);
      }
      return group;
    } catch (RuntimeException e) {
      IoUtil.unmap(mapped);
      throw e;
    }
  }

  private static MappedByteBuffer create(Path path, NodeToken creator, int n, int generation, int slotBytes, long size) {
    if (Files.exists(path)) throw new IllegalStateException("rank 0 of generation " + generation + " joined twice: " + path);
    Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
    try (FileChannel file = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE), ShmFiles.OWNER_ONLY)) {
      MappedByteBuffer mapped = file.map(FileChannel.MapMode.READ_WRITE, 0, size); // grows the file: all zeros
      UnsafeBuffer h = new UnsafeBuffer(mapped, 0, RANKS_AT);
      h.putInt(VERSION_AT, VERSION);
      h.putInt(WORLD_AT, n);
      h.putInt(GENERATION_AT, generation);
      h.putInt(SLOT_AT, slotBytes);
      h.putLong(CREATOR_PID_AT, creator.pid());
      h.putLong(CREATOR_TOKEN_AT, creator.token());
      h.putLongVolatile(MAGIC_AT, MAGIC);
      Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE); // the mapping outlives the name and the channel
      return mapped;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the all-reduce file " + path, e);
    }
  }

  private static MappedByteBuffer await(Path path, NodeToken creator, long size, long timeoutNs, String who) {
    long deadline = System.nanoTime() + timeoutNs;
    while (true) {
      try (FileChannel file = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        if (file.size() != size) {
          throw new IllegalStateException(who + ": " + path + " has " + file.size() + " bytes, expected " + size
              + " (ranks of one group disagree on the world size or capi.collective.shm-chunk-bytes)");
        }
        return file.map(FileChannel.MapMode.READ_WRITE, 0, size);
      } catch (NoSuchFileException notYet) {
        if (!creator.process().isAlive()) throw new CollectiveException(who + ": " + describe(0, creator) + " died", 0);
        if (Thread.currentThread().isInterrupted()) throw new CollectiveException(who + ": interrupted while waiting for rank 0");
        if (System.nanoTime() - deadline > 0) {
          throw new CollectiveException(who + ": rank 0 did not join (no " + path + " within " + timeoutNs / 1_000_000 + " ms)");
        }
        LockSupport.parkNanos(1_000_000);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot map the all-reduce file " + path, e);
      }
    }
  }

  private void check(NodeToken creator, int n, int generation, int slotBytes) {
    if (header.getLongVolatile(MAGIC_AT) != MAGIC || header.getInt(VERSION_AT) != VERSION
        || header.getInt(WORLD_AT) != n || header.getInt(GENERATION_AT) != generation
        || header.getInt(SLOT_AT) != slotBytes || header.getLong(CREATOR_PID_AT) != creator.pid()
        || header.getLong(CREATOR_TOKEN_AT) != creator.token()) {
      throw new IllegalStateException(who + ": " + path + " is not this group's file (magic, version, world size "
          + header.getInt(WORLD_AT) + ", generation " + header.getInt(GENERATION_AT) + ", slot bytes "
          + header.getInt(SLOT_AT) + " or creator differ)");
    }
  }

  /** Address of rank {@code rank}'s input slot {@code k}. */
  long input(int rank, int k) {
    return data + (2L * rank + k) * slotBytes;
  }

  /** Address of output slot {@code k}. */
  long output(int k) {
    return data + (2L * worldSize + k) * slotBytes;
  }

  /** This rank's count and op of the call it is about to arrive at (plain writes: the arrival publishes them). */
  void announce(int count, ReduceOp op) {
    header.putInt(rankAt(rank) + COUNT, count);
    header.putInt(rankAt(rank) + OP, op.ordinal());
  }

  int count(int rank) {
    return header.getInt(rankAt(rank) + COUNT);
  }

  ReduceOp op(int rank) {
    return OPS[header.getInt(rankAt(rank) + OP)];
  }

  boolean isBroken() {
    return (header.getLongVolatile(ARRIVALS_AT) & BROKEN) != 0;
  }

  /**
   * Arrives at barrier {@code barrier} and waits until every rank has: spins, yields, then parks;
   * checks the missing ranks' processes every millisecond.
   *
   * @throws CollectiveException naming the missing rank when its process died or after the
   *     timeout, when interrupted (the flag stays set), or when the group is or becomes broken; the
   *     first three break it
   */
  void arriveAndAwait(long barrier) {
    header.putLongOrdered(rankAt(rank) + REACHED, barrier);
    long target = barrier * worldSize;
    long now = header.getAndAddLong(ARRIVALS_AT, 1) + 1;
    if ((now & BROKEN) != 0) throw broken();
    long start = System.nanoTime();
    long nextLook = start + LIVENESS_PERIOD_NS;
    for (int spins = 0; ((now = header.getLongVolatile(ARRIVALS_AT)) & COUNT_MASK) < target; spins++) {
      if ((now & BROKEN) != 0) throw broken();
      if (spins < SPINS) {
        Thread.onSpinWait();
        continue;
      }
      if (spins < SPINS + YIELDS) {
        Thread.yield();
        continue;
      }
      int missing = firstMissing(barrier);
      if (Thread.currentThread().isInterrupted()) {
        breakGroup(Reason.INTERRUPTED, missing);
        throw new CollectiveException(who + ": interrupted while waiting for rank " + missing + " at barrier " + barrier);
      }
      long t = System.nanoTime();
      if (t - nextLook >= 0) {
        nextLook = t + LIVENESS_PERIOD_NS;
        int dead = firstDead(barrier);
        if (dead >= 0 && breakAt(now, Reason.DIED, dead)) {
          throw new CollectiveException(who + ": " + describe(dead, ranks.get(dead)) + " died", dead);
        }
      }
      if (t - start >= timeoutNs) {
        String why = who + ": rank " + missing + (barrier == 1 ? " did not join generation " + generation
            : " did not arrive at barrier " + barrier) + " within " + timeoutNs / 1_000_000 + " ms";
        if (breakAt(now, Reason.TIMEOUT, missing)) throw new CollectiveException(why);
        continue; // a rank arrived since: look again
      }
      LockSupport.parkNanos(PARK_NS);
    }
  }

  /** Breaks the group unless it is broken already (the peers' waits end with a CollectiveException). */
  void breakGroup(Reason reason, int subject) {
    long now;
    while (((now = header.getLongVolatile(ARRIVALS_AT)) & BROKEN) == 0) {
      if (breakAt(now, reason, subject)) return;
    }
  }

  /** Breaks the group unless a rank arrived (or someone broke it) since the waiter saw {@code seen}. */
  private boolean breakAt(long seen, Reason reason, int subject) {
    long why = (long) reason.ordinal() << 40 | (long) (subject & 0xff) << 44 | (long) rank << 52;
    return (seen & BROKEN) == 0 && header.compareAndSetLong(ARRIVALS_AT, seen, seen | BROKEN | why);
  }

  CollectiveException broken() {
    long word = header.getLongVolatile(ARRIVALS_AT);
    Reason reason = Reason.values()[(int) (word >>> 40 & 0xf)];
    int subject = (int) (word >>> 44 & 0xff);
    int breaker = (int) (word >>> 52 & 0xff);
    String why = switch (reason) {
      case LEFT -> "rank " + breaker + " left the group";
      case TIMEOUT -> "rank " + breaker + " waited for rank " + subject + " for " + timeoutNs / 1_000_000 + " ms";
      case DIED -> describe(subject, ranks.get(subject)) + " died";
      case INTERRUPTED -> "rank " + breaker + " was interrupted";
      case MISMATCH -> "rank " + breaker + " and rank " + subject + " passed different counts or ops";
      case OUTSIDE -> "rank " + breaker + " failed in its all-reduce between hosts";
    };
    return new CollectiveException(who + ": group is broken (" + why + "); join again",
        reason == Reason.DIED ? subject : -1);
  }

  /**
   * Unmaps the file; rank 0, or any rank once rank 0's process is gone, deletes it (peers that
   * still map it keep their mapping; a crashed group's file is swept at the next node start).
   */
  @Override
  public void close() {
    IoUtil.unmap(mapped);
    if (rank == 0 || !ranks.get(0).process().isAlive()) {
      try {
        Files.deleteIfExists(path);
      } catch (IOException e) {
        // Swept at a later start, once the creator's pid is dead.
      }
    }
  }

  private long reached(int rank) {
    return header.getLongVolatile(rankAt(rank) + REACHED);
  }

  /** The first rank that has not arrived at {@code barrier} and whose process is gone; -1 if none. */
  private int firstDead(long barrier) {
    for (int r = 0; r < worldSize; r++) if (reached(r) < barrier && !ranks.get(r).process().isAlive()) return r;
    return -1;
  }

  private int firstMissing(long barrier) {
    for (int r = 0; r < worldSize; r++) if (reached(r) < barrier) return r;
    return -1; // everyone arrived meanwhile
  }

  private static String describe(int rank, NodeToken where) {
    return "rank " + rank + " (pid " + where.pid() + ")";
  }

  private static int rankAt(int rank) {
    return RANKS_AT + rank * RANK_BYTES;
  }

  private static int dataOffset(int worldSize) {
    return (RANKS_AT + worldSize * RANK_BYTES + PAGE - 1) / PAGE * PAGE;
  }
}
