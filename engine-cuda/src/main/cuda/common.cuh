// What every kernel of kernels.cu uses: tensor views over any storage type, math in the arithmetic
// type, grid-stride loops and block reductions. Compiled by nvcc for the GPU and by g++ for the CPU
// emulation (src/main/native/emu.h defines the CUDA built-ins there).
//
// Rules the kernels follow (so the emulation runs them as the GPU does):
// - block sizes are multiples of 32; __syncthreads and warp shuffles are reached by every thread
//   of a block the same number of times (row loops step by whole blocks, never per thread);
// - no atomics: every reduction has one fixed order, so results are bit-identical run to run;
// - sizes and offsets are 64-bit (long).
#pragma once
#include <cuda_bf16.h>

#ifdef CAPI_EMULATION
#define KERNEL extern "C"
#else
#define KERNEL extern "C" __global__
#define EMU_REGISTER(name)
#endif

typedef __nv_bfloat16 bf16;

// ---- storage types -------------------------------------------------------------------------------
// A kernel's tensor arguments may each have their own storage type (capi.engine.DType: F32 0, F64 1,
// BF16 2, I32 3, U8 4): the kernel's last parameter `dt` holds 3 bits per tensor argument, argument
// k at bits [3k, 3k + 3), in the order capi.cuda.KernelArgs#tensor added them. The branch on the
// type is uniform over the whole grid.
enum Storage : unsigned { F32 = 0, F64 = 1, BF16 = 2, I32 = 3, U8 = 4 };

__device__ __forceinline__ unsigned storage_of(unsigned dt, int k) { return (dt >> (3 * k)) & 7u; }

// Element i of a tensor as the arithmetic type A (float or double), and stores rounded to the
// tensor's storage (bf16: to nearest even, as __float2bfloat16_rn).
template <typename A> struct View {
  void* p;
  unsigned s;

  __device__ __forceinline__ View(const void* ptr, unsigned dt, int k) : p(const_cast<void*>(ptr)), s(storage_of(dt, k)) {}

  __device__ __forceinline__ bool null() const { return p == nullptr; }

  __device__ __forceinline__ A operator[](long i) const {
    switch (s) {
      case F32: return (A)((const float*)p)[i];
      case F64: return (A)((const double*)p)[i];
      case BF16: return (A)__bfloat162float(((const bf16*)p)[i]);
      case I32: return (A)((const int*)p)[i];
      default: return (A)((const unsigned char*)p)[i];
    }
  }

  __device__ __forceinline__ void set(long i, A v) const {
    switch (s) {
      case F32: ((float*)p)[i] = (float)v; break;
      case F64: ((double*)p)[i] = (double)v; break;
      case BF16: ((bf16*)p)[i] = __float2bfloat16_rn((float)v); break;
      case I32: ((int*)p)[i] = (int)v; break;
      default: ((unsigned char*)p)[i] = (unsigned char)v; break;
    }
  }

  // v as this tensor stores it, back in A (what a later read of set(i, v) returns).
  __device__ __forceinline__ A stored(A v) const {
    switch (s) {
      case F32: return (A)(float)v;
      case BF16: return (A)__bfloat162float(__float2bfloat16_rn((float)v));
      case I32: return (A)(int)v;
      case U8: return (A)(unsigned char)v;
      default: return v;
    }
  }
};

// Math in the arithmetic type.
__device__ __forceinline__ float k_exp(float x) { return expf(x); }
__device__ __forceinline__ double k_exp(double x) { return exp(x); }
__device__ __forceinline__ float k_log(float x) { return logf(x); }
__device__ __forceinline__ double k_log(double x) { return log(x); }
__device__ __forceinline__ float k_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double k_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float k_erf(float x) { return erff(x); }
__device__ __forceinline__ double k_erf(double x) { return erf(x); }
__device__ __forceinline__ float k_max(float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ double k_max(double a, double b) { return fmax(a, b); }
__device__ __forceinline__ float k_min(float a, float b) { return fminf(a, b); }
__device__ __forceinline__ double k_min(double a, double b) { return fmin(a, b); }

template <typename A> __device__ __forceinline__ A neg_inf() { return -INFINITY; }

// for (long i = first; i < n; i += stride) over every thread of the grid.
#define GRID_LOOP(i, n) \
  for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)gridDim.x * blockDim.x)
// for (long r = blockIdx.x; r < rows; r += gridDim.x): a block per row, uniform within the block.
#define ROW_LOOP(r, rows) for (long r = blockIdx.x; r < (rows); r += gridDim.x)
// for (long c = threadIdx.x; c < cols; c += blockDim.x): a row's columns over the block's threads.
#define COL_LOOP(c, cols) for (long c = threadIdx.x; c < (cols); c += blockDim.x)

#define FULL_MASK 0xffffffffu

// Sum over the block, returned to every thread (lane 0 of each warp's value, warps in order).
template <typename A> __device__ __forceinline__ A block_sum(A v) {
  __shared__ A part[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  A total = 0;
  for (int w = 0; w < warps; w++) total += part[w];
  __syncthreads(); // part is reused by the next reduction
  return total;
}

// Max over the block, returned to every thread.
template <typename A> __device__ __forceinline__ A block_max(A v) {
  __shared__ A part[32];
  for (int o = 16; o > 0; o >>= 1) v = k_max(v, __shfl_xor_sync(FULL_MASK, v, o));
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
  if (lane == 0) part[warp] = v;
  __syncthreads();
  A m = part[0];
  for (int w = 1; w < warps; w++) m = k_max(m, part[w]);
  __syncthreads();
  return m;
}

// Min over the block, returned to every thread.
template <typename A> __device__ __forceinline__ A block_min(A v) { return -block_max(-v); }
