package capi.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.testsupport.TestData;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class InverseBlockMaskingTest {
  private static BatchShape shape(int rows, int cols, int patch, double ratio, double sub) {
    return new BatchShape(rows * patch, cols * patch, 3, patch, ratio, sub);
  }

  @ParameterizedTest(name = "{0}x{1} ratio {2} sub {3}: V={4} P={5}")
  @CsvSource({
    "8, 8, 0.65, 0.25, 23, 10", // the golden tiny-a grid
    "16, 16, 0.65, 0.05, 90, 8", // L/14 at 224 (docs/ALGORITHM.md §8)
    "14, 14, 0.65, 0.05, 69, 6", // /16 at 224
    "7, 7, 0.65, 0.25, 18, 7", // tiny preset, 28x28 patch 4
    "6, 10, 0.65, 0.25, 21, 9",
    "3, 11, 0.5, 0.5, 17, 8",
    "9, 2, 0.75, 1.0, 5, 13",
    "2, 20, 0.25, 0.5, 30, 5" // crossed aspect bounds
  })
  void countsShapesAndOneRolledRectangle(int rows, int cols, double ratio, double sub, int v, int p) {
    BatchShape s = shape(rows, cols, 2, ratio, sub);
    assertEquals(v, s.visible());
    assertEquals(p, s.predicted());
    InverseBlockMasking masking = new InverseBlockMasking(s);
    int batch = 5;
    int n = rows * cols;
    SplittableRandom r = new SplittableRandom(rows * 31L + cols);
    for (int trial = 0; trial < 40; trial++) {
      int[] vis = new int[batch * v];
      int[] pred = new int[batch * p];
      for (int b = 0; b < batch; b++) masking.write(r, b, vis, pred);
      for (int b = 0; b < batch; b++) {
        boolean[] visible = new boolean[n];
        for (int k = 0; k < v; k++) {
          int idx = vis[b * v + k];
          assertTrue(idx >= b * n && idx < (b + 1) * n, "visible index in its image");
          if (k > 0) assertTrue(idx > vis[b * v + k - 1], "visible sorted within an image");
          visible[idx - b * n] = true;
        }
        assertTrue(isRolledRectanglePrefix(visible, rows, cols, v), "one rectangle up to the roll");
        Set<Integer> seen = new HashSet<>();
        for (int k = 0; k < p; k++) {
          int idx = pred[b * p + k];
          assertTrue(idx >= b * n && idx < (b + 1) * n, "predicted index in its image");
          assertFalse(visible[idx - b * n], "predicted positions are masked");
          assertTrue(seen.add(idx), "no repeated prediction");
        }
      }
    }
  }

  @Test
  void everyPositionIsVisibleAboutEquallyOften() {
    BatchShape s = shape(8, 6, 4, 0.65, 0.25);
    InverseBlockMasking masking = new InverseBlockMasking(s);
    int n = s.patches();
    int masks = 20000;
    int[] visibleCount = new int[n];
    int[] predictCount = new int[n];
    SplittableRandom r = new SplittableRandom(7);
    int[] vis = new int[s.visible()];
    int[] pred = new int[s.predicted()];
    for (int t = 0; t < masks; t++) {
      masking.write(r, 0, vis, pred);
      for (int i : vis) visibleCount[i]++;
      for (int i : pred) predictCount[i]++;
    }
    double expectVisible = masks * (double) s.visible() / n;
    double expectPredict = masks * (double) s.predicted() / n;
    for (int i = 0; i < n; i++) {
      assertEquals(expectVisible, visibleCount[i], 0.06 * expectVisible, "visible frequency of position " + i);
      assertEquals(expectPredict, predictCount[i], 0.10 * expectPredict, "predicted frequency of position " + i);
    }
  }

  /** The reference's own masks satisfy the property this test checks (and have the same counts). */
  @Test
  void goldenMasksHaveTheSameCountsAndStructure() throws IOException {
    Path golden = TestData.golden(TestData.TINY_A);
    BatchShape s = shape(8, 8, 4, 0.65, 0.25);
    for (int step = 0; step < 2; step++) {
      long[] vis = readInt64(golden.resolve("step" + step + "__input__visible_indices.npy"));
      long[] pred = readInt64(golden.resolve("step" + step + "__input__predict_indices.npy"));
      int batch = vis.length / s.visible();
      assertEquals(batch * s.visible(), vis.length);
      assertEquals(batch * s.predicted(), pred.length);
      for (int b = 0; b < batch; b++) {
        boolean[] visible = new boolean[64];
        for (int k = 0; k < s.visible(); k++) visible[(int) vis[b * s.visible() + k] - b * 64] = true;
        assertTrue(isRolledRectanglePrefix(visible, 8, 8, s.visible()));
      }
    }
  }

  /** True if, for some cyclic shift, the cells are the first v cells (row-major) of one rectangle. */
  static boolean isRolledRectanglePrefix(boolean[] cells, int rows, int cols, int v) {
    for (int sy = 0; sy < rows; sy++) {
      for (int sx = 0; sx < cols; sx++) {
        int top = rows, left = cols, bottom = -1, right = -1, count = 0;
        boolean[] un = new boolean[rows * cols];
        for (int y = 0; y < rows; y++) {
          for (int x = 0; x < cols; x++) {
            if (!cells[((y + sy) % rows) * cols + (x + sx) % cols]) continue;
            un[y * cols + x] = true;
            top = Math.min(top, y);
            bottom = Math.max(bottom, y);
            left = Math.min(left, x);
            right = Math.max(right, x);
            count++;
          }
        }
        if (count != v) return false;
        int w = right - left + 1;
        int full = (bottom - top) * w; // all rows but the last are full ...
        boolean ok = true;
        for (int k = 0; k < v && ok; k++) {
          int y = top + k / w;
          int x = left + k % w;
          ok = un[y * cols + x];
        }
        // ... and the last row is a prefix: exactly the first v cells of the box are set.
        if (ok && v > full) return true;
      }
    }
    return false;
  }

  static long[] readInt64(Path npy) throws IOException {
    byte[] all = Files.readAllBytes(npy);
    int headerLen = (all[8] & 0xff) | (all[9] & 0xff) << 8; // NumPy format 1.0
    String header = new String(all, 10, headerLen);
    assertTrue(header.contains("'<i8'"), header);
    ByteBuffer buf = ByteBuffer.wrap(all, 10 + headerLen, all.length - 10 - headerLen).order(ByteOrder.LITTLE_ENDIAN);
    long[] out = new long[buf.remaining() / 8];
    for (int i = 0; i < out.length; i++) out[i] = buf.getLong();
    return out;
  }
}
