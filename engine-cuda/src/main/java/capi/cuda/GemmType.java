package capi.cuda;

import capi.engine.DType;

/**
 * A matrix product's storage types and accumulation, as cuBLAS (cublasGemmStridedBatchedEx) is
 * asked for it: A and B share a type; C has it too, or float32 under bf16 inputs.
 */
enum GemmType {
  /** float32 in and out, float32 accumulation (CUBLAS_COMPUTE_32F). */
  F32(DType.F32, DType.F32, false),
  /** float32 in and out, inputs rounded to TF32 on the tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32). */
  TF32(DType.F32, DType.F32, true),
  /** float64 in and out (CUBLAS_COMPUTE_64F). */
  F64(DType.F64, DType.F64, false),
  /** bf16 A and B, float32 C, float32 accumulation (CUBLAS_COMPUTE_32F). */
  BF16_F32(DType.BF16, DType.F32, false),
  /** bf16 A, B and C, float32 accumulation (CUBLAS_COMPUTE_32F). */
  BF16(DType.BF16, DType.BF16, false);

  final DType ab;
  final DType c;
  final boolean tf32;

  GemmType(DType ab, DType c, boolean tf32) {
    this.ab = ab;
    this.c = c;
    this.tf32 = tf32;
  }

  /** The product of A and B of storage ab into C of storage c; float32 ones on TF32 tensor cores when tf32. */
  static GemmType of(DType a, DType b, DType c, boolean tf32) {
    if (a == b) {
      if (a == DType.F32 && c == DType.F32) return tf32 ? TF32 : F32;
      if (a == DType.F64 && c == DType.F64) return F64;
      if (a == DType.BF16 && c == DType.F32) return BF16_F32;
      if (a == DType.BF16 && c == DType.BF16) return BF16;
    }
    throw new IllegalArgumentException("cuda backend: no matrix product of " + a + " and " + b + " into " + c);
  }
}
