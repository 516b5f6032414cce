package capi.engine;

/**
 * RoPE coordinates of tokens (reference: prepare_tokens_and_drop, get_edge_coordinates): patch
 * (row, col) in [0, 1]² from linspace over the grid; registers on the edges of the unit square,
 * R/4 per side, mapped into the bounding box of each sample's visible patches.
 */
final class Coordinates {
  private Coordinates() {}

  /** (N, 2): (row, col) of every patch, row-major. */
  static double[] grid(int gridH, int gridW) {
    double[] out = new double[gridH * gridW * 2];
    for (int r = 0; r < gridH; r++) {
      for (int c = 0; c < gridW; c++) {
        out[2 * (r * gridW + c)] = linspace(r, gridH);
        out[2 * (r * gridW + c) + 1] = linspace(c, gridW);
      }
    }
    return out;
  }

  private static double linspace(int i, int n) {
    return n == 1 ? 0 : (double) i / (n - 1);
  }

  /** (R, 2) edge coordinates before scaling: sides (c, 0), (1, c), (1 − c, 1), (0, 1 − c), c = i/(R/4). */
  static double[] edges(int registers) {
    int side = registers / 4;
    double[] out = new double[registers * 2];
    for (int i = 0; i < side; i++) {
      double c = (double) i / side;
      set(out, i, c, 0);
      set(out, side + i, 1, c);
      set(out, 2 * side + i, 1 - c, 1);
      set(out, 3 * side + i, 0, 1 - c);
    }
    return out;
  }

  private static void set(double[] a, int i, double y, double x) {
    a[2 * i] = y;
    a[2 * i + 1] = x;
  }

  /**
   * (B, R + T, 2): for every sample, its registers (scaled into the box of its T patches) followed
   * by the coordinates of patches patchIndex[b·T + t] (flat b·N + n indices).
   */
  static double[] tokens(double[] grid, int patches, int registers, int batch, int[] patchIndex) {
    int t = patchIndex.length / batch, stride = registers + t;
    double[] edges = edges(registers);
    double[] out = new double[batch * stride * 2];
    for (int b = 0; b < batch; b++) {
      double minY = Double.POSITIVE_INFINITY, minX = Double.POSITIVE_INFINITY;
      double maxY = Double.NEGATIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < t; i++) {
        int n = patchIndex[b * t + i] % patches;
        double y = grid[2 * n], x = grid[2 * n + 1];
        int o = 2 * (b * stride + registers + i);
        out[o] = y;
        out[o + 1] = x;
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
      }
      for (int r = 0; r < registers; r++) {
        int o = 2 * (b * stride + r);
        out[o] = minY + edges[2 * r] * (maxY - minY);
        out[o + 1] = minX + edges[2 * r + 1] * (maxX - minX);
      }
    }
    return out;
  }

  /** (B·T, 2): the coordinates of patches index[i] (flat b·N + n), no registers. */
  static double[] patches(double[] grid, int patches, int[] index) {
    double[] out = new double[index.length * 2];
    for (int i = 0; i < index.length; i++) {
      int n = index[i] % patches;
      out[2 * i] = grid[2 * n];
      out[2 * i + 1] = grid[2 * n + 1];
    }
    return out;
  }
}
