package capi.eval;

import java.util.stream.IntStream;

/**
 * The two float matrix products the probes need, in plain Java. Inner loops are written as
 * a[i,p] * b[p, tile] updates so that the JIT vectorises them; B is walked in column tiles that
 * stay in cache while a block of rows of A uses them. Rows are split over the common pool.
 */
final class Matmul {
  private static final int ROW_BLOCK = 32;
  private static final int COL_TILE = 512;

  private Matmul() {}

  /** c (m, n) = a (m, k) · b (k, n), all row-major. */
  static void multiply(float[] a, float[] b, float[] c, int m, int k, int n) {
    int blocks = (m + ROW_BLOCK - 1) / ROW_BLOCK;
    IntStream.range(0, blocks).parallel().forEach(blk -> {
      int i0 = blk * ROW_BLOCK, i1 = Math.min(m, i0 + ROW_BLOCK);
      for (int j0 = 0; j0 < n; j0 += COL_TILE) {
        int j1 = Math.min(n, j0 + COL_TILE);
        for (int i = i0; i < i1; i++) {
          int ci = i * n;
          for (int j = j0; j < j1; j++) c[ci + j] = 0f;
          for (int p = 0; p < k; p++) {
            float aip = a[i * k + p];
            if (aip == 0f) continue; // raw pixels are mostly background
            int bp = p * n;
            for (int j = j0; j < j1; j++) c[ci + j] += aip * b[bp + j];
          }
        }
      }
    });
  }

  /** c (k, n) = aᵀ · b with a (m, k) and b (m, n), all row-major. */
  static void multiplyTransposedA(float[] a, float[] b, float[] c, int m, int k, int n) {
    int blocks = (k + ROW_BLOCK - 1) / ROW_BLOCK;
    IntStream.range(0, blocks).parallel().forEach(blk -> {
      int p0 = blk * ROW_BLOCK, p1 = Math.min(k, p0 + ROW_BLOCK);
      for (int p = p0; p < p1; p++) for (int j = 0; j < n; j++) c[p * n + j] = 0f;
      for (int i = 0; i < m; i++) {
        int bi = i * n;
        for (int p = p0; p < p1; p++) {
          float aip = a[i * k + p];
          if (aip == 0f) continue;
          int cp = p * n;
          for (int j = 0; j < n; j++) c[cp + j] += aip * b[bi + j];
        }
      }
    });
  }

  /** (cols, rows) copy of a (rows, cols). */
  static float[] transpose(float[] a, int rows, int cols) {
    float[] t = new float[a.length];
    for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
    return t;
  }
}
