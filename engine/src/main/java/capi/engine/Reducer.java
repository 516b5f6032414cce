package capi.engine;

import java.nio.ByteBuffer;

/**
 * Global reductions for the Sinkhorn-Knopp over the whole batch of all workers. data is a direct
 * ByteBuffer in native byte order holding `count` float32 values from position 0, reduced in place.
 */
public interface Reducer {
  void allReduceMax(ByteBuffer data, int count);

  void allReduceSum(ByteBuffer data, int count);

  /** A single worker: the local values are already global. */
  Reducer LOCAL =
      new Reducer() {
        @Override
        public void allReduceMax(ByteBuffer data, int count) {}

        @Override
        public void allReduceSum(ByteBuffer data, int count) {}
      };
}
