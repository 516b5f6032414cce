package capi.engine;

import java.nio.ByteBuffer;
import java.util.concurrent.CyclicBarrier;

/**
 * Two in-process workers' {@link Reducer}s whose calls meet: each call waits for the other
 * worker's, then both hold the element-wise max or sum (tests of data parallelism in one JVM).
 */
public final class PairReducers {
  private PairReducers() {}

  /** The reducers of ranks 0 and 1; each must be called from its own thread. */
  public static Reducer[] create() {
    CyclicBarrier barrier = new CyclicBarrier(2);
    float[][] slots = new float[2][];
    Reducer[] out = new Reducer[2];
    for (int r = 0; r < 2; r++) {
      int rank = r;
      out[r] = new Reducer() {
        @Override
        public void allReduceMax(ByteBuffer data, int count) {
          exchange(data, count, true);
        }

        @Override
        public void allReduceSum(ByteBuffer data, int count) {
          exchange(data, count, false);
        }

        private void exchange(ByteBuffer data, int count, boolean max) {
          try {
            float[] own = new float[count];
            data.asFloatBuffer().get(own);
            slots[rank] = own;
            barrier.await();
            for (int i = 0; i < count; i++) {
              float a = slots[0][i], b = slots[1][i];
              data.putFloat(4 * i, max ? Math.max(a, b) : a + b);
            }
            barrier.await();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
      };
    }
    return out;
  }
}
