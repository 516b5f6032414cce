package capi.config;

import com.typesafe.config.Config;

/**
 * The model of a run (capi.model.*, docs/ALGORITHM.md §1): sizes, masking counts and temperatures
 * (the precision is the engine's, {@link EngineConfig}). Validated so that every shape the engine derives is consistent.
 */
public record ModelConfig(
    int imageHeight,
    int imageWidth,
    int inChannels,
    int patchSize,
    int dim,
    int heads,
    int depth,
    int predDim,
    int predHeads,
    int predDepth,
    int registers,
    int prototypes,
    double dropPathRate,
    double maskRatio,
    double predictionSubsampling,
    double studentTemp,
    double targetTemp,
    double clusteringTemp,
    int sinkhornIterations,
    boolean positionwiseSinkhorn) {

  public ModelConfig {
    check(imageHeight % patchSize == 0, "capi.model.image-height", imageHeight, "must be a multiple of patch-size (" + patchSize + ")");
    check(imageWidth % patchSize == 0, "capi.model.image-width", imageWidth, "must be a multiple of patch-size (" + patchSize + ")");
    check(dim % heads == 0, "capi.model.heads", heads, "must divide capi.model.dim (" + dim + ")");
    check((dim / heads) % 4 == 0, "capi.model.heads", heads, "must leave a head width (dim/heads) that is a multiple of 4 (RoPE)");
    check(predDim % predHeads == 0, "capi.model.pred-heads", predHeads, "must divide capi.model.pred-dim (" + predDim + ")");
    check((predDim / predHeads) % 4 == 0, "capi.model.pred-heads", predHeads, "must leave a head width that is a multiple of 4 (RoPE)");
    check(registers % 4 == 0, "capi.model.registers", registers, "must be a multiple of 4 (edge coordinates)");
    // the fields are not assigned yet in a compact constructor: derive the counts from the arguments
    int n = (imageHeight / patchSize) * (imageWidth / patchSize);
    int masked = maskedOf(n, maskRatio);
    check(n - masked >= 1, "capi.model.mask-ratio", maskRatio, "leaves no visible patch");
    check(predictedOf(masked, predictionSubsampling) >= 1, "capi.model.prediction-subsampling",
        predictionSubsampling, "predicts no patch");
  }

  static ModelConfig from(Config c) {
    String m = "capi.model.";
    return new ModelConfig(
        Values.positiveInt(c, m + "image-height"),
        Values.positiveInt(c, m + "image-width"),
        Values.positiveInt(c, m + "in-channels"),
        Values.positiveInt(c, m + "patch-size"),
        Values.positiveInt(c, m + "dim"),
        Values.positiveInt(c, m + "heads"),
        Values.positiveInt(c, m + "depth"),
        Values.positiveInt(c, m + "pred-dim"),
        Values.positiveInt(c, m + "pred-heads"),
        Values.positiveInt(c, m + "pred-depth"),
        Values.nonNegativeInt(c, m + "registers"),
        Values.positiveInt(c, m + "prototypes"),
        Values.doubleIn(c, m + "drop-path-rate", 0, 0.99),
        Values.doubleIn(c, m + "mask-ratio", 0, 0.99),
        Values.doubleIn(c, m + "prediction-subsampling", 0, 1),
        Values.doubleIn(c, m + "student-temp", 1e-6, 100),
        Values.doubleIn(c, m + "target-temp", 1e-6, 100),
        Values.doubleIn(c, m + "clustering-temp", 1e-6, 100),
        Values.positiveInt(c, m + "sinkhorn-iterations"),
        Values.booleanValue(c, m + "positionwise-sinkhorn"));
  }

  /** The same model with another drop-path rate (golden runs and evaluation use 0). */
  public ModelConfig withDropPathRate(double r) {
    return new ModelConfig(imageHeight, imageWidth, inChannels, patchSize, dim, heads, depth, predDim, predHeads,
        predDepth, registers, prototypes, r, maskRatio, predictionSubsampling, studentTemp, targetTemp,
        clusteringTemp, sinkhornIterations, positionwiseSinkhorn);
  }

  public int gridH() {
    return imageHeight / patchSize;
  }

  public int gridW() {
    return imageWidth / patchSize;
  }

  /** N: patches per image. */
  public int patches() {
    return gridH() * gridW();
  }

  /** M = floor(N · mask-ratio) masked patches per image. */
  public int masked() {
    return maskedOf(patches(), maskRatio);
  }

  /** M = floor(N · mask-ratio), as the reference's int(n_tokens * mask_ratio) (docs/ALGORITHM.md §2). */
  public static int maskedOf(int patches, double maskRatio) {
    return (int) Math.floor(patches * maskRatio);
  }

  /** P = floor(M · prediction-subsampling) (docs/ALGORITHM.md §2). */
  public static int predictedOf(int masked, double predictionSubsampling) {
    return (int) Math.floor(masked * predictionSubsampling);
  }

  /** V = N − M visible patches per image. */
  public int visible() {
    return patches() - masked();
  }

  /** P = floor(M · prediction-subsampling) predicted patches per image. */
  public int predicted() {
    return predictedOf(masked(), predictionSubsampling);
  }

  private static void check(boolean ok, String key, Object value, String allowed) {
    if (!ok) throw BadConfigException.of(key, value, allowed);
  }
}
