package capi.data;

import java.util.SplittableRandom;

/**
 * torchvision's RandomResizedCrop parameters: up to 10 tries of a random area fraction and
 * log-uniform aspect ratio that fit, else a centred crop with the aspect clamped into range.
 */
record RandomResizedCrop(double scaleMin, double scaleMax, double aspectMin, double aspectMax) {

  /** A crop box in source pixels. */
  record Box(int top, int left, int height, int width) {}

  Box sample(SplittableRandom r, int height, int width) {
    double area = (double) height * width;
    double logMin = Math.log(aspectMin);
    double logMax = Math.log(aspectMax);
    for (int attempt = 0; attempt < 10; attempt++) {
      double target = area * (scaleMin + (scaleMax - scaleMin) * r.nextDouble());
      double aspect = Math.exp(logMin + (logMax - logMin) * r.nextDouble());
      int w = (int) Math.rint(Math.sqrt(target * aspect)); // rint = Python's round half to even
      int h = (int) Math.rint(Math.sqrt(target / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        return new Box(r.nextInt(height - h + 1), r.nextInt(width - w + 1), h, w);
      }
    }
    double ratio = (double) width / height;
    int w = width;
    int h = height;
    if (ratio < aspectMin) {
      h = (int) Math.rint(w / aspectMin);
    } else if (ratio > aspectMax) {
      w = (int) Math.rint(h * aspectMax);
    }
    return new Box((height - h) / 2, (width - w) / 2, h, w);
  }
}
