package capi.eval;

/**
 * Labelled feature vectors, one row per image: the input of every probe.
 *
 * @param values (n, dim) row-major
 * @param dim feature width
 * @param labels (n) class indices in [0, classes)
 * @param classes number of classes
 */
public record FeatureSet(float[] values, int dim, int[] labels, int classes) {
  public FeatureSet {
    if (dim <= 0 || values.length != (long) labels.length * dim) {
      throw new IllegalArgumentException(
          "values has " + values.length + " floats, expected " + labels.length + " x " + dim);
    }
    for (int y : labels) {
      if (y < 0 || y >= classes) throw new IllegalArgumentException("label " + y + " not in [0, " + classes + ")");
    }
  }

  public int size() {
    return labels.length;
  }

  /** The rows at {@code rows}, in that order. */
  public FeatureSet subset(int[] rows) {
    float[] v = new float[rows.length * dim]; // (rows, dim)
    int[] y = new int[rows.length];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(values, rows[i] * dim, v, i * dim, dim);
      y[i] = labels[rows[i]];
    }
    return new FeatureSet(v, dim, y, classes);
  }

  /** Fraction of rows whose label equals the prediction. */
  public double accuracy(int[] predicted) {
    int correct = 0;
    for (int i = 0; i < labels.length; i++) if (predicted[i] == labels[i]) correct++;
    return (double) correct / labels.length;
  }
}
