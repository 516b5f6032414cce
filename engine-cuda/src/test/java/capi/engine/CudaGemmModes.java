package capi.engine;

import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.cuda.CudaBackend;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend's products beyond the conformance suite, against the float64 reference with
 * every transpose, leading dimension, offset and batch stride: float32 on TF32 tensor cores
 * (10-bit mantissa inputs, float32 accumulation) and bf16 inputs into a bf16 output (float32
 * accumulation, one rounding at the end; the suite checks bf16 into float32). Relative errors are
 * bounded by the rounding: about 2⁻¹¹ per TF32 product, 2⁻⁹ for the bf16 output.
 */
abstract class CudaGemmModes {
  /** The backend under test with these options. */
  protected abstract Backend create(Precision p, CudaBackend.Options options);

  @Test
  void tf32() {
    check(Precision.FLOAT32, new CudaBackend.Options(true), DType.F32, DType.F32, 2e-3);
  }

  @Test
  void bf16IntoBf16() {
    check(Precision.BF16_MIXED, CudaBackend.Options.EXACT, DType.BF16, DType.BF16, 1e-2);
  }

  private void check(Precision p, CudaBackend.Options options, DType ab, DType c, double tolerance) {
    Random rng = new Random(3);
    for (int[] s : new int[][] {{1, 1, 1}, {3, 5, 7}, {17, 9, 33}}) {
      int m = s[0], n = s[1], k = s[2], batch = 3;
      for (boolean ta : new boolean[] {false, true}) {
        for (boolean tb : new boolean[] {false, true}) {
          int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
          int sa = (ta ? k : m) * lda + 4, sb = (tb ? n : k) * ldb, sc = m * ldc + 1;
          double[][] in = {gaussian(rng, batch * sa + 3), gaussian(rng, batch * sb + 2), gaussian(rng, batch * sc + 5)};
          DType[] types = {ab, ab, c};
          double[][] out = new double[2][];
          Backend[] backends = {create(p, options), new ReferenceBackend(p)};
          for (int i = 0; i < 2; i++) {
            try (Backend be = backends[i]) {
              Tensor[] t = new Tensor[3];
              for (int j = 0; j < 3; j++) {
                t[j] = be.allocate(types[j], in[j].length);
                be.upload(in[j], 0, t[j], 0, in[j].length);
              }
              be.gemm(ta, tb, m, n, k, 0.7, t[0], 3, lda, t[1], 2, ldb, 0.5, t[2], 5, ldc, batch, sa, sb, sc);
              out[i] = new double[in[2].length];
              be.download(t[2], 0, out[i], 0, out[i].length);
            }
          }
          double diff = 0, norm = 0;
          for (int j = 0; j < out[0].length; j++) {
            diff += (out[0][j] - out[1][j]) * (out[0][j] - out[1][j]);
            norm += out[1][j] * out[1][j];
          }
          double rel = Math.sqrt(diff / norm);
          assertTrue(rel <= tolerance, options + " " + ab + "→" + c + " " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb
              + ": relative error " + rel);
        }
      }
    }
  }

  /** Float32-representable Gaussians (the reference then sees exactly the backend's float32 inputs). */
  private static double[] gaussian(Random rng, int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
    return v;
  }
}
