package capi.collective;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/** How the all-reduce combines the ranks' values. AVG is a SUM divided by the world size once. */
public enum ReduceOp {
  SUM {
    @Override
    void combine(DirectBuffer src, int srcIndex, MutableDirectBuffer dst, int dstIndex, int bytes) {
      for (int i = 0; i < bytes; i += Float.BYTES) {
        dst.putFloat(dstIndex + i, dst.getFloat(dstIndex + i) + src.getFloat(srcIndex + i));
      }
    }
  },
  AVG {
    @Override
    void combine(DirectBuffer src, int srcIndex, MutableDirectBuffer dst, int dstIndex, int bytes) {
      SUM.combine(src, srcIndex, dst, dstIndex, bytes);
    }
  },
  MAX {
    @Override
    void combine(DirectBuffer src, int srcIndex, MutableDirectBuffer dst, int dstIndex, int bytes) {
      for (int i = 0; i < bytes; i += Float.BYTES) {
        dst.putFloat(dstIndex + i, Math.max(dst.getFloat(dstIndex + i), src.getFloat(srcIndex + i)));
      }
    }
  };

  /** dst[i] = dst[i] (op) src[i] over {@code bytes} bytes of native-order float32. */
  abstract void combine(DirectBuffer src, int srcIndex, MutableDirectBuffer dst, int dstIndex, int bytes);
}
