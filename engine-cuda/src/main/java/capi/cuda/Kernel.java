package capi.cuda;

import capi.engine.Precision;
import java.util.List;

/**
 * Every entry point of kernels.cu the backend launches, with its parameter count: the single list
 * the tests check against the compiled PTX (an {@code .entry} with that many {@code .param}s must
 * exist) and against the emulator's registry. A kernel computing in the arithmetic type has two
 * entry points, NAME_f32 (float32 and bf16-mixed) and NAME_f64 (float64); the others one, NAME.
 * Typed kernels end with the storage types of their tensor arguments ({@link KernelArgs#tensor}).
 */
enum Kernel {
  FILL("fill", 4, false),
  CONVERT("convert", 4, false),
  AXPY("axpy", 5, true),
  SCALE("scale", 4, true),
  SUM_SQUARES("sum_squares", 4, false),
  SUM_DOUBLES("sum_doubles", 3, false, false),
  CHECKSUM("checksum", 5, false),
  ADD_ROW_VECTOR("add_row_vector", 5, true),
  SUM_ROWS_PARTIAL("sum_rows_partial", 6, true),
  ADD_PARTIALS("add_partials", 5, true),
  GATHER_ROWS("gather_rows", 6, false),
  SCATTER_ADD_ROWS("scatter_add_rows", 7, true),
  SCATTER_ADD_ROWS_SERIAL("scatter_add_rows_serial", 7, true),
  PATCHIFY("patchify", 9, false),
  NORMALIZE_IMAGES("normalize_images", 7, true),
  TOKEN_COORDINATES("token_coordinates", 8, true),
  RMS_NORM("rms_norm", 8, true),
  RMS_NORM_BACKWARD("rms_norm_backward", 8, true),
  RMS_NORM_DW_PARTIAL("rms_norm_dw_partial", 8, true),
  L2_NORMALIZE("l2_normalize", 7, true),
  L2_NORMALIZE_BACKWARD("l2_normalize_backward", 8, true),
  WEIGHT_NORM("weight_norm", 7, true),
  WEIGHT_NORM_BACKWARD("weight_norm_backward", 9, true),
  GELU("gelu", 4, true),
  GELU_BACKWARD("gelu_backward", 5, true),
  ROPE_TABLES("rope_tables", 7, false),
  ROPE("rope", 10, true),
  SOFTMAX_ROWS("softmax_rows", 5, true),
  SOFTMAX_ROWS_BACKWARD("softmax_rows_backward", 7, true),
  SOFT_TARGET_CE("soft_target_ce", 9, true),
  ENTROPY_ROWS("entropy_rows", 5, true),
  COLUMN_REDUCE("column_reduce", 7, true),
  EXP_SHIFTED("exp_shifted", 10, true),
  SINKHORN_ROWS("sinkhorn_rows", 7, true),
  ADAMW("adamw", 9, true);

  final String base;
  /** Parameters, the trailing storage types included. */
  final int arity;
  /** NAME_f32 and NAME_f64, or NAME alone. */
  final boolean arithmetic;
  /** Whether the last parameter is the storage types of the tensor arguments. */
  final boolean typed;
  private final String f32;
  private final String f64;

  Kernel(String base, int arity, boolean arithmetic) {
    this(base, arity, arithmetic, true);
  }

  Kernel(String base, int arity, boolean arithmetic, boolean typed) {
    this.base = base;
    this.arity = arity;
    this.arithmetic = arithmetic;
    this.typed = typed;
    this.f32 = arithmetic ? base + "_f32" : base;
    this.f64 = arithmetic ? base + "_f64" : base;
  }

  /** The entry point that computes in precision p's arithmetic (float64 or float). */
  String name(Precision p) {
    return p == Precision.FLOAT64 ? f64 : f32;
  }

  /** Every entry point of this kernel. */
  List<String> entryPoints() {
    return arithmetic ? List.of(f32, f64) : List.of(base);
  }
}
