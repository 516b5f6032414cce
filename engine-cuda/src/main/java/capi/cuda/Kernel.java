package capi.cuda;

/**
 * Every entry point of kernels.cu the backend launches, with its parameter count: the single list
 * the tests check against the compiled PTX (an {@code .entry NAME_SUFFIX} with that many
 * {@code .param}s must exist) and against the emulator's registry. {@link KernelArgs} refuses a
 * launch whose argument count differs.
 */
enum Kernel {
  FILL("fill", 3, "f32", "f64", "bf16"),
  AXPY("axpy", 4, "f32", "f64"),
  SCALE("scale", 3, "f32", "f64"),
  EMA("ema", 4, "f32", "f64"),
  SUM_SQUARES("sum_squares", 3, "f32", "f64"),
  SUM("sum", 3, "f64"),
  CHECKSUM("checksum", 4, "f32", "f64"),
  CONVERT_F32_BF16("convert_f32_bf16", 3),
  CONVERT_BF16_F32("convert_bf16_f32", 3),
  ADD_ROW_VECTOR("add_row_vector", 4, "f32", "f64"),
  SUM_ROWS_PARTIAL("sum_rows_partial", 5, "f32", "f64"),
  ADD_PARTIALS("add_partials", 4, "f32", "f64"),
  GATHER_ROWS("gather_rows", 5, "f32", "f64"),
  SCATTER_ADD_ROWS("scatter_add_rows", 6, "f32", "f64"),
  SCATTER_ADD_ROWS_SERIAL("scatter_add_rows_serial", 6, "f32", "f64"),
  PATCHIFY("patchify", 8, "f32", "f64"),
  RMS_NORM("rms_norm", 7, "f32", "f64"),
  RMS_NORM_BACKWARD("rms_norm_backward", 7, "f32", "f64"),
  RMS_NORM_DW_PARTIAL("rms_norm_dw_partial", 7, "f32", "f64"),
  L2_NORMALIZE("l2_normalize", 6, "f32", "f64"),
  L2_NORMALIZE_BACKWARD("l2_normalize_backward", 7, "f32", "f64"),
  WEIGHT_NORM("weight_norm", 6, "f32", "f64"),
  WEIGHT_NORM_BACKWARD("weight_norm_backward", 8, "f32", "f64"),
  GELU("gelu", 3, "f32", "f64"),
  GELU_BACKWARD("gelu_backward", 4, "f32", "f64"),
  ROPE_TABLES("rope_tables", 6, "f32", "f64"),
  ROPE("rope", 7, "f32", "f64"),
  SOFTMAX_ROWS("softmax_rows", 3, "f32", "f64"),
  SOFTMAX_ROWS_BACKWARD("softmax_rows_backward", 4, "f32", "f64"),
  SOFT_TARGET_CE("soft_target_ce", 8, "f32", "f64"),
  ENTROPY_ROWS("entropy_rows", 4, "f32", "f64"),
  COLUMN_REDUCE("column_reduce", 6, "f32", "f64"),
  EXP_SHIFTED("exp_shifted", 6, "f32", "f64"),
  SINKHORN_ROWS("sinkhorn_rows", 6, "f32", "f64"),
  ADAMW("adamw", 13, "f32", "f64");

  final String base;
  final int arity;
  private final String[] suffixes;
  private final String[] names;

  Kernel(String base, int arity, String... suffixes) {
    this.base = base;
    this.arity = arity;
    this.suffixes = suffixes;
    this.names = new String[DType.values().length];
    for (String s : suffixes) names[DType.ofSuffix(s).ordinal()] = base + "_" + s;
  }

  /** The entry point for storage type t (kernels without a type suffix: any t). */
  String name(DType t) {
    if (suffixes.length == 0) return base;
    String n = names[t.ordinal()];
    if (n == null) throw new IllegalArgumentException(base + " has no " + t + " variant");
    return n;
  }

  /** Every entry point of this kernel. */
  java.util.List<String> entryPoints() {
    if (suffixes.length == 0) return java.util.List.of(base);
    java.util.List<String> out = new java.util.ArrayList<>();
    for (String s : suffixes) out.add(base + "_" + s);
    return out;
  }
}
