package capi.eval;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The two float matrix products the probes need, in plain Java. Every inner loop is
 * {@code y[j] += a * x[j]} over two arrays indexed from 0, the only form the JDK 17 JIT turns
 * into vector instructions (an offset into either array keeps it scalar, about 4x slower). So
 * the right-hand matrix is cut into column tiles of separate row arrays, small enough to stay in
 * cache while a block of rows of the left-hand matrix uses them, four rows per pass. Rows are
 * split over the common pool.
 */
final class Matmul {
  private static final int ROW_BLOCK = 32;
  private static final int COL_TILE = 512;

  private Matmul() {}

  /** A (rows, cols) matrix as column tiles: tiles[t][r] holds row r's columns [t·512, t·512 + width). */
  record Tiled(int rows, int cols, float[][][] tiles) {
    /** Tiles of x (rows, cols), or of its transpose when {@code transpose}. */
    static Tiled of(float[] x, int rows, int cols, boolean transpose) {
      int r = transpose ? cols : rows, c = transpose ? rows : cols;
      float[][][] tiles = new float[(c + COL_TILE - 1) / COL_TILE][r][];
      for (int t = 0; t < tiles.length; t++) {
        int j0 = t * COL_TILE, w = Math.min(c, j0 + COL_TILE) - j0;
        for (int i = 0; i < r; i++) {
          float[] row = new float[w];
          for (int j = 0; j < w; j++) row[j] = transpose ? x[(j0 + j) * cols + i] : x[i * cols + j0 + j];
          tiles[t][i] = row;
        }
      }
      return new Tiled(r, c, tiles);
    }
  }

  /** c (m, n) = a (m, k) · b (k, n), a and c row-major. */
  static void multiply(float[] a, int m, Tiled b, float[] c) {
    int k = b.rows(), n = b.cols();
    int blocks = (m + ROW_BLOCK - 1) / ROW_BLOCK;
    IntStream.range(0, blocks).parallel().forEach(blk -> {
      int i0 = blk * ROW_BLOCK, i1 = Math.min(m, i0 + ROW_BLOCK);
      int w0 = Math.min(n, COL_TILE);
      float[] c0 = new float[w0], c1 = new float[w0], c2 = new float[w0], c3 = new float[w0];
      for (int t = 0; t < b.tiles().length; t++) {
        float[][] tile = b.tiles()[t]; // (k, w)
        int w = tile[0].length;
        // Four rows of a at a time: each loaded row of b serves four updates.
        for (int i = i0; i < i1; i += 4) {
          int rows = Math.min(4, i1 - i);
          Arrays.fill(c0, 0f);
          Arrays.fill(c1, 0f);
          Arrays.fill(c2, 0f);
          Arrays.fill(c3, 0f);
          for (int p = 0; p < k; p++) {
            float a0 = a[i * k + p];
            float a1 = rows > 1 ? a[(i + 1) * k + p] : 0f;
            float a2 = rows > 2 ? a[(i + 2) * k + p] : 0f;
            float a3 = rows > 3 ? a[(i + 3) * k + p] : 0f;
            if (a0 == 0f && a1 == 0f && a2 == 0f && a3 == 0f) continue;
            float[] bp = tile[p];
            for (int j = 0; j < w; j++) {
              float v = bp[j];
              c0[j] += a0 * v;
              c1[j] += a1 * v;
              c2[j] += a2 * v;
              c3[j] += a3 * v;
            }
          }
          float[][] out = {c0, c1, c2, c3};
          for (int r = 0; r < rows; r++) System.arraycopy(out[r], 0, c, (i + r) * n + t * COL_TILE, w);
        }
      }
    });
  }

  /** c (k, n) = aᵀ · b with a (m, k) and b (m, n), all row-major. */
  static void multiplyTransposedA(float[] a, float[] b, float[] c, int m, int k, int n) {
    int blocks = (k + ROW_BLOCK - 1) / ROW_BLOCK;
    IntStream.range(0, blocks).parallel().forEach(blk -> {
      int p0 = blk * ROW_BLOCK, p1 = Math.min(k, p0 + ROW_BLOCK);
      float[][] acc = new float[p1 - p0][n]; // rows p0..p1 of c
      float[] bi = new float[n];
      for (int i = 0; i < m; i++) {
        System.arraycopy(b, i * n, bi, 0, n);
        for (int p = p0; p < p1; p++) {
          float aip = a[i * k + p];
          if (aip == 0f) continue;
          float[] cp = acc[p - p0];
          for (int j = 0; j < n; j++) cp[j] += aip * bi[j];
        }
      }
      for (int p = p0; p < p1; p++) System.arraycopy(acc[p - p0], 0, c, p * n, n);
    });
  }
}
