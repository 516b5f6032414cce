package capi.collective;

import static org.junit.jupiter.api.Assertions.fail;

import capi.config.CapiConfig;
import capi.config.CollectiveConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Test helpers: ranks of one JVM run concurrently, each on its own thread, with a time bound. */
final class Ranks {
  interface RankBody<T> {
    T run(int rank) throws Exception;
  }

  private static final long BOUND_SECONDS = 120;

  private Ranks() {}

  static CollectiveConfig config(Map<String, String> overrides) {
    return CollectiveConfig.from(CapiConfig.load(null, overrides, null));
  }

  /** Runs body(0..n-1) on n threads at once; returns their results or rethrows the first failure. */
  static <T> List<T> onEach(int n, RankBody<T> body) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<T>> futures = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        int rank = r;
        futures.add(pool.submit(() -> body.run(rank)));
      }
      List<T> results = new ArrayList<>();
      Exception failure = null; // the first rank's failure, with the others' attached
      for (Future<T> f : futures) {
        try {
          results.add(f.get(BOUND_SECONDS, TimeUnit.SECONDS));
        } catch (ExecutionException e) {
          Exception cause = e.getCause() instanceof Exception c ? c : e;
          if (failure == null) failure = cause; else failure.addSuppressed(cause);
        } catch (TimeoutException e) {
          return fail("ranks did not finish within " + BOUND_SECONDS + " s");
        }
      }
      if (failure != null) throw failure;
      return results;
    } finally {
      pool.shutdownNow();
    }
  }

  static List<RingAllReduce> joinAll(AeronNode node, CollectiveConfig cfg, int generation, int n, int maxFloats)
      throws Exception {
    List<String> endpoints = RingEndpoints.local(cfg, n);
    return onEach(n, rank -> RingAllReduce.join(node, cfg, generation, rank, endpoints, maxFloats));
  }

  static ByteBuffer floats(float[] values) {
    ByteBuffer b = ByteBuffer.allocateDirect(values.length * Float.BYTES).order(ByteOrder.nativeOrder());
    b.asFloatBuffer().put(values);
    return b;
  }

  static float[] read(ByteBuffer b, int count) {
    float[] out = new float[count];
    b.asFloatBuffer().get(out);
    return out;
  }
}
