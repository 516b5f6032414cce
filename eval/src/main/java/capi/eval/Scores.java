package capi.eval;

/**
 * The probes' results on one kind of features.
 *
 * @param knnTop1 k-NN top-1 accuracy on the test split, NaN when the k-NN probe was not run
 * @param linear the linear probe's result, null when it was not run
 */
public record Scores(double knnTop1, LinearProbe.Result linear) {
  /** Linear top-1 accuracy, NaN when the linear probe was not run. */
  public double linearTop1() {
    return linear == null ? Double.NaN : linear.top1();
  }
}
