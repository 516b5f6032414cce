package capi.data;

import java.util.SplittableRandom;

/**
 * docs/ALGORITHM.md §2 for one image: one visible rectangle of exactly V cells (its first V cells in
 * row-major order), rolled cyclically by a random offset; everything else is masked. Then P masked
 * positions to predict, uniformly without replacement.
 */
final class InverseBlockMasking {
  private static final double MIN_ASPECT = 0.5; // the reference's defaults, max = 1 / min
  private final int rows;
  private final int cols;
  private final int visible;
  private final int predicted;

  InverseBlockMasking(BatchShape shape) {
    rows = shape.gridHeight();
    cols = shape.gridWidth();
    visible = shape.visible();
    predicted = shape.predicted();
  }

  /** Visible cells of one image, row-major flags (N). */
  boolean[] visibleCells(SplittableRandom r) {
    boolean[] vis = new boolean[rows * cols];
    if (visible == 0) return vis;
    // Log-aspect bounds keep the rectangle inside the grid (the reference's min/max_lar).
    double minLar = Math.max(Math.log(MIN_ASPECT), Math.log(visible / (double) (cols * cols)));
    double maxLar = Math.min(Math.log(1 / MIN_ASPECT), Math.log(rows * rows / (visible + 1e-5)));
    // As Python's random.uniform, also when a very elongated grid makes the bounds cross.
    double aspect = Math.exp(minLar + (maxLar - minLar) * r.nextDouble());
    // ceil makes h·w >= V inside the bounds; on crossed bounds the clamps to the grid need a wider
    // rectangle, which the reference (it would fail there) leaves undefined.
    int h = Math.min(rows, (int) Math.ceil(Math.sqrt(visible * aspect)));
    int w = Math.min(cols, (int) Math.ceil(Math.sqrt(visible / aspect)));
    if (h * w < visible) {
      w = Math.min(cols, Math.floorDiv(visible + h - 1, h));
      h = Math.min(rows, Math.floorDiv(visible + w - 1, w));
    }
    int top = r.nextInt(rows - h + 1);
    int left = r.nextInt(cols - w + 1);
    int shiftRows = r.nextInt(rows);
    int shiftCols = r.nextInt(cols);
    int kept = 0;
    for (int y = 0; y < h && kept < visible; y++) {
      for (int x = 0; x < w && kept < visible; x++, kept++) {
        int ry = (top + y + shiftRows) % rows;
        int rx = (left + x + shiftCols) % cols;
        vis[ry * cols + rx] = true;
      }
    }
    return vis;
  }

  /**
   * Writes one image's indices into the batch layout: visible sorted, predicted in random order.
   *
   * @param image the image's row b in the batch; its indices are offset by b·N
   */
  void write(SplittableRandom r, int image, int[] visibleOut, int[] predictOut) {
    int n = rows * cols;
    boolean[] vis = visibleCells(r);
    int[] masked = new int[n - visible];
    int v = image * visible;
    int m = 0;
    for (int i = 0; i < n; i++) {
      if (vis[i]) visibleOut[v++] = image * n + i;
      else masked[m++] = image * n + i;
    }
    // Partial Fisher-Yates: the first P of a uniform random permutation of the masked cells.
    for (int k = 0; k < predicted; k++) {
      int j = k + r.nextInt(masked.length - k);
      int t = masked[k];
      masked[k] = masked[j];
      masked[j] = t;
      predictOut[image * predicted + k] = masked[k];
    }
  }
}
