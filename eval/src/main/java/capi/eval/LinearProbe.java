package capi.eval;

import java.util.Arrays;
import java.util.Random;

/**
 * Linear probe: multinomial logistic regression on standardised frozen features. Every
 * (learning rate, weight decay) pair of the grid is trained on 90% of the train split and scored
 * on the held-out rest (chosen by a seed); the best pair is then refitted on the whole train split
 * and scored on the test split.
 */
public final class LinearProbe {
  /** Test accuracy of the refitted probe and the hyper-parameters chosen on the held-out part. */
  public record Result(double top1, double learningRate, double weightDecay, double holdoutTop1) {}

  private final int epochs;
  private final int batchSize;
  private final double[] learningRates;
  private final double[] weightDecays;
  private final double holdoutFraction;
  private final long seed;

  public LinearProbe(
      int epochs, int batchSize, double[] learningRates, double[] weightDecays, double holdoutFraction, long seed) {
    if (epochs <= 0 || batchSize <= 0) throw new IllegalArgumentException("epochs and batch size must be positive");
    if (learningRates.length == 0 || weightDecays.length == 0) throw new IllegalArgumentException("empty grid");
    if (!(holdoutFraction > 0 && holdoutFraction < 1)) {
      throw new IllegalArgumentException("holdout fraction must be in (0, 1): " + holdoutFraction);
    }
    this.epochs = epochs;
    this.batchSize = batchSize;
    this.learningRates = learningRates.clone();
    this.weightDecays = weightDecays.clone();
    this.holdoutFraction = holdoutFraction;
    this.seed = seed;
  }

  public Result fit(FeatureSet train, FeatureSet test) {
    int[] order = SoftmaxRegressions.identity(train.size());
    SoftmaxRegressions.shuffle(order, new Random(seed));
    int held = Math.max(1, (int) Math.round(holdoutFraction * train.size()));
    FeatureSet holdout = train.subset(Arrays.copyOfRange(order, 0, held));
    FeatureSet rest = train.subset(Arrays.copyOfRange(order, held, order.length));

    int grid = learningRates.length * weightDecays.length;
    double[] lrs = new double[grid], wds = new double[grid];
    for (int i = 0; i < grid; i++) {
      lrs[i] = learningRates[i / weightDecays.length];
      wds[i] = weightDecays[i % weightDecays.length];
    }
    Standardizer restScaler = Standardizer.fit(rest);
    double[] holdoutTop1 = SoftmaxRegressions.train(restScaler.apply(rest), lrs, wds, epochs, batchSize, seed)
        .accuracies(restScaler.apply(holdout));
    int best = 0;
    for (int i = 1; i < grid; i++) if (holdoutTop1[i] > holdoutTop1[best]) best = i;

    Standardizer scaler = Standardizer.fit(train);
    double top1 = SoftmaxRegressions.train(
            scaler.apply(train), new double[] {lrs[best]}, new double[] {wds[best]}, epochs, batchSize, seed)
        .accuracies(scaler.apply(test))[0];
    return new Result(top1, lrs[best], wds[best], holdoutTop1[best]);
  }
}
