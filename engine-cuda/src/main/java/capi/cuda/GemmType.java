package capi.cuda;

/**
 * How a GEMM computes: the storage of A, B and C and the accumulation (cuBLAS compute type).
 * The codes are the emulator's.
 */
enum GemmType {
  /** float32 in and out, float32 accumulation (CUBLAS_COMPUTE_32F). */
  F32(0, DType.F32, DType.F32),
  /** float64 in and out (CUBLAS_COMPUTE_64F). */
  F64(1, DType.F64, DType.F64),
  /** float32 in and out, inputs rounded to TF32 on the tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32). */
  TF32(2, DType.F32, DType.F32),
  /** bf16 A and B, float32 C, float32 accumulation (CUBLAS_COMPUTE_32F). */
  BF16(3, DType.BF16, DType.F32);

  final int code;
  final DType in;
  final DType out;

  GemmType(int code, DType in, DType out) {
    this.code = code;
    this.in = in;
    this.out = out;
  }
}
