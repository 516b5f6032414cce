package capi.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.engine.AttentionShape;
import capi.engine.Backend;
import capi.engine.DType;
import capi.engine.Precision;
import capi.engine.ReferenceBackend;
import capi.engine.Tensor;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What the conformance suite cannot see of the CUDA backend, on the emulated device: the parallel
 * scatter for index sets known to be distinct (and the fall-back when that is unknown), staging
 * of bf16 and float64 tensors through page-locked host memory, and clear errors for products and
 * attention calls the backend cannot run.
 */
class EmulatedCudaBackendTest {
  private final Random rng = new Random(5);

  private double[] gaussian(int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) v[i] = rng.nextGaussian();
    return v;
  }

  @Test
  void scatterOfDistinctIndicesRunsInParallelAndOfUnknownOnesInOrder() {
    int rows = 40, cols = 7, n = 25;
    int[] perm = new int[rows];
    for (int i = 0; i < rows; i++) perm[i] = (i * 17) % rows; // distinct: 17 and 40 are coprime
    int[] idx = java.util.Arrays.copyOf(perm, n);
    double[] src = gaussian(n * cols), dst = gaussian(rows * cols);
    double[] want = dst.clone();
    for (int i = 0; i < n; i++) for (int c = 0; c < cols; c++) want[idx[i] * cols + c] += 0.5 * src[i * cols + c];
    try (CudaBackend be = CudaBackends.emulated(Precision.FLOAT64, CudaBackend.Options.EXACT)) {
      Tensor s = be.allocate(DType.F64, (long) n * cols), d = be.allocate(DType.F64, (long) rows * cols);
      Tensor ix = be.allocate(DType.I32, n + 3);
      be.upload(src, 0, s, 0, src.length);
      int[] padded = java.util.Arrays.copyOf(idx, n + 3);
      be.upload(padded, 0, ix, 0, n + 3);
      Tensor section = be.view(ix, 0, n);
      assertArrayEquals(padded, ((DeviceTensor) section).shadow(), "the host copy of the upload");
      for (boolean known : new boolean[] {true, false}) {
        if (!known) be.fill(be.view(ix, n, 3), 0); // a device write: the host copy is no longer trusted
        assertEquals(known, ((DeviceTensor) section).shadow() != null);
        be.upload(dst, 0, d, 0, dst.length);
        be.scatterAddRows(s, section, cols, 0.5, d);
        double[] got = new double[rows * cols];
        be.download(d, 0, got, 0, got.length);
        assertArrayEquals(want, got, 1e-15, known ? "parallel scatter" : "serial scatter");
      }
    }
  }

  @Test
  void bf16AndFloat64TensorsStageAsFloat32() {
    for (Precision p : new Precision[] {Precision.BF16_MIXED, Precision.FLOAT64}) {
      DType t = p.compute();
      double[] values = gaussian(1000);
      try (CudaBackend be = CudaBackends.emulated(p, CudaBackend.Options.EXACT);
          ReferenceBackend ref = new ReferenceBackend(p)) {
        double[][] out = new double[2][1000];
        Backend[] both = {be, ref};
        for (int i = 0; i < 2; i++) {
          Tensor x = both[i].allocate(t, 1000), y = both[i].allocate(t, 1000);
          both[i].upload(values, 0, x, 0, 1000);
          ByteBuffer h = both[i].hostBuffer(4000);
          both[i].stage(x, h);
          for (int j = 0; j < 1000; j++) h.putFloat(4 * j, h.getFloat(4 * j) * 3);
          both[i].unstage(h, y);
          both[i].download(y, 0, out[i], 0, 1000);
        }
        assertArrayEquals(out[1], out[0], 0, p + ": staged " + t + " rounds as the reference does");
      }
    }
  }

  @Test
  void unsupportedProductsAndAttentionCallsSayWhy() {
    try (CudaBackend be = CudaBackends.emulated(Precision.BF16_MIXED, CudaBackend.Options.EXACT)) {
      Tensor f = be.allocate(DType.F32, 4), h = be.allocate(DType.BF16, 4);
      String mixed = assertThrows(IllegalArgumentException.class,
          () -> be.gemm(false, false, 2, 2, 1, 1, f, 0, 1, h, 0, 2, 0, f, 0, 2, 1, 0, 0, 0)).getMessage();
      assertEquals("cuda backend: no matrix product of F32 and BF16 into F32", mixed);
      String down = assertThrows(IllegalArgumentException.class,
          () -> be.gemm(false, false, 2, 2, 1, 1, f, 0, 1, f, 0, 2, 0, h, 0, 2, 1, 0, 0, 0)).getMessage();
      assertEquals("cuda backend: no matrix product of F32 and F32 into BF16", down);
      AttentionShape s = new AttentionShape(1, 1, 2, 2, 2, 2, 2, 1);
      Tensor q = be.allocate(DType.BF16, 4), out = be.allocate(DType.BF16, 4), small = be.allocate(DType.F32, 1);
      String stash = assertThrows(IllegalArgumentException.class, () -> be.attention(s, q, q, q, out, small)).getMessage();
      assertTrue(stash.startsWith("cuda backend: an attention stash of 1 F32 elements, needs "), stash);
      String types = assertThrows(IllegalArgumentException.class, () -> be.attention(s, q, f, q, out, null)).getMessage();
      assertEquals("cuda backend: attention of BF16 and F32", types);
    }
  }
}
