package capi.eval;

import capi.engine.EvalOutput;
import capi.engine.NamedTensor;

/** Which output of the teacher's evaluation forward a probe reads, as (B, D) rows. */
public enum FeatureSource {
  /** Predictor pooling (docs/ALGORITHM.md §1.7): the maintainer's choice for classification. */
  GLOBAL_REPR("global_repr"),
  /** The mean of the last layer's patch tokens. */
  PATCH_MEAN("patch_mean"),
  /** The mean of the registers. */
  REGISTERS("registers");

  private final String label;

  FeatureSource(String label) {
    this.label = label;
  }

  /** The name used in metrics and JSON. */
  public String label() {
    return label;
  }

  /** Width of this source's rows in {@code out}. */
  int dim(EvalOutput out) {
    int[] shape = tensor(out).shape();
    return shape[shape.length - 1];
  }

  /** Writes the b rows of this source into dst (·, D) from row {@code offset} on. */
  void copyRows(EvalOutput out, int b, float[] dst, int offset) {
    float[] src = tensor(out).data();
    int d = dim(out);
    if (this != REGISTERS) {
      System.arraycopy(src, 0, dst, offset * d, b * d);
      return;
    }
    int r = out.registers().shape()[1]; // registers (B, R, D) -> their mean (B, D)
    for (int i = 0; i < b; i++) {
      for (int k = 0; k < r; k++) {
        for (int j = 0; j < d; j++) dst[(offset + i) * d + j] += src[(i * r + k) * d + j] / r;
      }
    }
  }

  private NamedTensor tensor(EvalOutput out) {
    return switch (this) {
      case GLOBAL_REPR -> out.globalRepr();
      case PATCH_MEAN -> out.patchMean();
      case REGISTERS -> out.registers();
    };
  }
}
