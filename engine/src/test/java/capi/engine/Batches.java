package capi.engine;

import capi.config.ModelConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** Random step inputs for tests: images, sorted visible patches and predicted masked patches per image. */
final class Batches {
  private Batches() {}

  static StepInput random(ModelConfig cfg, int batch, long seed) {
    Random rng = new Random(seed);
    int n = cfg.patches(), v = cfg.visible(), p = cfg.predicted();
    float[] images = new float[batch * cfg.inChannels() * cfg.imageHeight() * cfg.imageWidth()];
    for (int i = 0; i < images.length; i++) images[i] = (float) rng.nextGaussian();
    int[] visible = new int[batch * v], predict = new int[batch * p];
    for (int b = 0; b < batch; b++) {
      List<Integer> order = new ArrayList<>();
      for (int i = 0; i < n; i++) order.add(i);
      Collections.shuffle(order, rng);
      List<Integer> vis = new ArrayList<>(order.subList(0, v));
      Collections.sort(vis);
      for (int i = 0; i < v; i++) visible[b * v + i] = b * n + vis.get(i);
      for (int i = 0; i < p; i++) predict[b * p + i] = b * n + order.get(v + i);
    }
    return new StepInput(batch, images, visible, predict);
  }
}
