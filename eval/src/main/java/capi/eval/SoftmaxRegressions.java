package capi.eval;

import java.util.Arrays;
import java.util.Random;

/**
 * G multinomial logistic regressions on the same features, trained together by mini-batch AdamW
 * with a cosine learning-rate decay, each head with its own learning rate and weight decay: one
 * pass over the data serves a whole hyper-parameter grid (as the reference trains its probes).
 */
final class SoftmaxRegressions {
  private static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

  private final int dim, classes, heads;
  private final float[] weights; // (dim, heads * classes); head g owns columns [g*C, (g+1)*C)
  private final float[] bias; // (heads * classes)

  private SoftmaxRegressions(int dim, int classes, int heads) {
    this.dim = dim;
    this.classes = classes;
    this.heads = heads;
    this.weights = new float[dim * heads * classes];
    this.bias = new float[heads * classes];
  }

  /** Trains one head per (learningRates[g], weightDecays[g]) on standardised {@code data}. */
  static SoftmaxRegressions train(
      FeatureSet data, double[] learningRates, double[] weightDecays, int epochs, int batchSize, long seed) {
    int d = data.dim(), c = data.classes(), g = learningRates.length, gc = g * c, n = data.size();
    SoftmaxRegressions model = new SoftmaxRegressions(d, c, g);
    int b = Math.min(batchSize, n);
    int stepsPerEpoch = n / b; // the few rows left over change with every shuffle
    long total = (long) epochs * stepsPerEpoch;
    float[] mW = new float[d * gc], vW = new float[d * gc], mB = new float[gc], vB = new float[gc];
    float[] x = new float[b * d]; // (B, dim)
    int[] y = new int[b];
    float[] logits = new float[b * gc]; // (B, G*C), becomes dLoss/dlogits in place
    float[] gradW = new float[d * gc];
    float[] gradB = new float[gc];
    int[] order = identity(n);
    Random random = new Random(seed);
    long step = 0;
    for (int epoch = 0; epoch < epochs; epoch++) {
      shuffle(order, random);
      for (int s = 0; s < stepsPerEpoch; s++, step++) {
        for (int r = 0; r < b; r++) {
          System.arraycopy(data.values(), order[s * b + r] * d, x, r * d, d);
          y[r] = data.labels()[order[s * b + r]];
        }
        model.logits(x, b, logits);
        softmaxGradient(logits, y, b, g, c);
        Matmul.multiplyTransposedA(x, logits, gradW, b, d, gc);
        Arrays.fill(gradB, 0f);
        for (int r = 0; r < b; r++) for (int j = 0; j < gc; j++) gradB[j] += logits[r * gc + j];
        double cosine = 0.5 * (1 + Math.cos(Math.PI * step / total));
        double bc1 = 1 - Math.pow(BETA1, step + 1), bc2 = 1 - Math.pow(BETA2, step + 1);
        for (int h = 0; h < g; h++) {
          double lr = learningRates[h] * cosine;
          float decay = (float) (1 - lr * weightDecays[h]); // decoupled, weights only
          for (int p = 0; p < d; p++) {
            for (int j = h * c; j < (h + 1) * c; j++) {
              int i = p * gc + j;
              model.weights[i] = decay * model.weights[i] - adam(gradW, mW, vW, i, lr, bc1, bc2);
            }
          }
          for (int j = h * c; j < (h + 1) * c; j++) model.bias[j] -= adam(gradB, mB, vB, j, lr, bc1, bc2);
        }
      }
    }
    return model;
  }

  /** Top-1 accuracy of every head on standardised {@code data}. */
  double[] accuracies(FeatureSet data) {
    int n = data.size(), gc = heads * classes, chunk = 1024;
    int[] correct = new int[heads];
    float[] logits = new float[chunk * gc];
    for (int r0 = 0; r0 < n; r0 += chunk) {
      int rows = Math.min(chunk, n - r0);
      float[] x = Arrays.copyOfRange(data.values(), r0 * dim, (r0 + rows) * dim);
      logits(x, rows, logits);
      for (int r = 0; r < rows; r++) {
        for (int h = 0; h < heads; h++) {
          int best = 0;
          for (int j = 1; j < classes; j++) {
            if (logits[r * gc + h * classes + j] > logits[r * gc + h * classes + best]) best = j;
          }
          if (best == data.labels()[r0 + r]) correct[h]++;
        }
      }
    }
    double[] acc = new double[heads];
    for (int h = 0; h < heads; h++) acc[h] = (double) correct[h] / n;
    return acc;
  }

  /** out (rows, G*C) = x (rows, dim) · W + b. */
  private void logits(float[] x, int rows, float[] out) {
    int gc = heads * classes;
    Matmul.multiply(x, rows, Matmul.Tiled.of(weights, dim, gc, false), out);
    for (int r = 0; r < rows; r++) for (int j = 0; j < gc; j++) out[r * gc + j] += bias[j];
  }

  /** Replaces each head's logits by d(mean cross-entropy)/dlogits = (softmax - onehot) / B. */
  private static void softmaxGradient(float[] z, int[] y, int b, int g, int c) {
    for (int r = 0; r < b; r++) {
      for (int h = 0; h < g; h++) {
        int o = r * g * c + h * c;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) max = Math.max(max, z[o + j]);
        double sum = 0;
        for (int j = 0; j < c; j++) sum += Math.exp(z[o + j] - max);
        for (int j = 0; j < c; j++) {
          double p = Math.exp(z[o + j] - max) / sum;
          z[o + j] = (float) ((p - (j == y[r] ? 1 : 0)) / b);
        }
      }
    }
  }

  /** One AdamW moment update at index i; returns the step lr * m̂ / (sqrt(v̂) + eps). */
  private static float adam(float[] grad, float[] m, float[] v, int i, double lr, double bc1, double bc2) {
    m[i] = (float) (BETA1 * m[i] + (1 - BETA1) * grad[i]);
    v[i] = (float) (BETA2 * v[i] + (1 - BETA2) * grad[i] * grad[i]);
    return (float) (lr * (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + EPS));
  }

  static int[] identity(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) a[i] = i;
    return a;
  }

  /** Fisher-Yates with the given generator, so a seed fixes the order. */
  static void shuffle(int[] a, Random random) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
