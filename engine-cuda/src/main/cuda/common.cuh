// What every kernel of kernels.cu uses: the arithmetic type of each storage type, loads and stores
// through it, math overloads, grid-stride loops and block reductions. Compiled by nvcc for the GPU
// and by g++ for the CPU emulation (src/main/native/emu.h defines the CUDA built-ins there).
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

// Arithmetic type: float for float and bf16 storage, double for double.
template <typename T> struct Acc { typedef float type; };
template <> struct Acc<double> { typedef double type; };

__device__ __forceinline__ float to_acc(float x) { return x; }
__device__ __forceinline__ double to_acc(double x) { return x; }
__device__ __forceinline__ float to_acc(bf16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_acc(typename Acc<T>::type x);
template <> __device__ __forceinline__ float from_acc<float>(float x) { return x; }
template <> __device__ __forceinline__ double from_acc<double>(double x) { return x; }
template <> __device__ __forceinline__ bf16 from_acc<bf16>(float x) { return __float2bfloat16_rn(x); }

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
