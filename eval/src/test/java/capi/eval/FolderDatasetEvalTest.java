package capi.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A folder: dataset with train/ and test/ splits of another image size than the model's. */
@Timeout(120)
class FolderDatasetEvalTest {
  @Test
  void probesRunOnFolderSplitsResizedToTheModel(@TempDir Path dir) throws Exception {
    // Class 0: a bright left half; class 1: a bright right half. 40x36 colour PNGs, model 28x28 grey.
    Random random = new Random(3);
    for (String split : new String[] {"train", "test"}) {
      for (int c = 0; c < 2; c++) {
        Path classDir = Files.createDirectories(dir.resolve(split).resolve("class" + c));
        for (int i = 0; i < 20; i++) {
          BufferedImage img = new BufferedImage(40, 36, BufferedImage.TYPE_INT_RGB);
          for (int y = 0; y < 36; y++) {
            for (int x = 0; x < 40; x++) {
              int v = ((x < 20) == (c == 0) ? 200 : 30) + random.nextInt(40);
              img.setRGB(x, y, (v << 16) | (v << 8) | v);
            }
          }
          ImageIO.write(img, "png", classDir.resolve(i + ".png").toFile());
        }
      }
    }
    Evaluator evaluator = Evaluator.of(
        SmallModel.config(Map.of("eval.dataset", "folder:" + dir, "eval.knn-k", "5")), Probe.ALL, false, 1);
    assertEquals(40, evaluator.trainImages());
    assertEquals(40, evaluator.testImages());
    Scores pixels = evaluator.pixelBaseline();
    assertEquals(1.0, pixels.knnTop1());
    assertEquals(1.0, pixels.linearTop1());
  }
}
