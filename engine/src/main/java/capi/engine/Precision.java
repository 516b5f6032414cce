package capi.engine;

import capi.config.EngineConfig;

/**
 * A backend's precision: which {@link DType} each kind of tensor gets.
 *
 * <ul>
 *   <li>{@link #master()}: parameters, gradients, Adam moments, the teacher, and every tensor an
 *       fp32 computation owns (residual stream, norm statistics, attention stash, logits,
 *       Sinkhorn, losses, scalars).
 *   <li>{@link #compute()}: inputs of matrix products (normalised activations, q/k/v, attention
 *       output, GELU input and output, gradients flowing into a product, images and patches) and
 *       the per-step compute copies of the weights.
 * </ul>
 *
 * Under {@code bf16-mixed} compute tensors are BF16 (the reference's bf16 autocast: products take
 * bf16 inputs and accumulate in fp32), the rest F32; docs/ENGINE.md lists the choice per layer.
 */
public enum Precision {
  FLOAT32("float32", DType.F32, DType.F32),
  FLOAT64("float64", DType.F64, DType.F64),
  BF16_MIXED("bf16-mixed", DType.F32, DType.BF16);

  private final String configName;
  private final DType master;
  private final DType compute;

  Precision(String configName, DType master, DType compute) {
    this.configName = configName;
    this.master = master;
    this.compute = compute;
  }

  public DType master() {
    return master;
  }

  public DType compute() {
    return compute;
  }

  /** The name in configuration and on the command line: float32, float64 or bf16-mixed. */
  public String configName() {
    return configName;
  }

  /** The precision capi.engine.precision names. */
  public static Precision of(EngineConfig.Precision configured) {
    return of(configured.word());
  }

  public static Precision of(String name) {
    for (Precision p : values()) if (p.configName.equals(name)) return p;
    throw new IllegalArgumentException("precision " + name + ": must be float32, float64 or bf16-mixed");
  }
}
