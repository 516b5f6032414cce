// CUDA on the CPU, just enough to run kernels.cu unchanged (compiled by g++ with -DCAPI_EMULATION).
//
// A launch runs the blocks of the grid one after another on the calling thread. The threads of a
// block are coroutines with stacks of their own: a thread runs until it reaches __syncthreads (or
// a warp shuffle, which is two barriers here: write, barrier, read, barrier), then the next thread
// runs; once every thread waits at the barrier they all go on. A barrier that some threads reach
// and others never do (they finished) is reported as an error instead of hanging or passing. So
// kernels must reach barriers and shuffles uniformly within a block, as common.cuh requires.
// __shared__ variables are per OS thread (static thread_local): the blocks of a launch run in turn.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local
#include <cuda_bf16.h>

namespace emu {
struct Dim {
  unsigned x, y, z;
};

enum class State { RUNNABLE, BARRIER, DONE };

struct Thread {
  Dim idx;
  void* sp;
  State state;
};

// The block being run on this OS thread.
struct Block {
  Dim blockIdx, blockDim, gridDim;
  Thread* cur;
  void* schedulerSp;
  uint64_t* slots; // one per thread, for shuffles
  const std::function<void()>* body;
};

extern thread_local Block* block;

// Switches to the scheduler until every thread of the block has reached the barrier.
void barrier();

// The value `v` of lane `src` of the calling thread's warp (every thread of the block calls it).
template <typename V> V exchange(V v, int srcLane) {
  Block* b = block;
  unsigned t = b->cur->idx.x;
  std::memcpy(&b->slots[t], &v, sizeof(V));
  barrier();
  V out;
  std::memcpy(&out, &b->slots[(t & ~31u) | (unsigned)(srcLane & 31)], sizeof(V));
  barrier();
  return out;
}

// The kernels by name (EMU_REGISTER), each with its parameter count and a call that unpacks an
// argument buffer of 8-byte slots (the layout capi.cuda.KernelArgs writes) into typed parameters.
struct Entry {
  const char* name;
  int arity;
  void (*fn)();
  void (*call)(void (*fn)(), const unsigned char* args);
};

void add(const Entry& e);

template <typename P> P slot(const unsigned char* args, int i) {
  P v;
  std::memcpy(&v, args + 8 * i, sizeof(P));
  return v;
}

template <typename... P, size_t... I> void unpack(void (*f)(P...), const unsigned char* args, std::index_sequence<I...>) {
  f(slot<P>(args, (int)I)...);
}

template <typename... P> void callWith(void (*fn)(), const unsigned char* args) {
  auto f = reinterpret_cast<void (*)(P...)>(fn);
  unpack(f, args, std::index_sequence_for<P...>{});
}

struct Registrar {
  template <typename... P> Registrar(const char* name, void (*f)(P...)) {
    add(Entry{name, (int)sizeof...(P), reinterpret_cast<void (*)()>(f), &callWith<P...>});
  }
};
} // namespace emu

#define EMU_REGISTER(name) static emu::Registrar emu_registrar_##name(#name, &name);

#define threadIdx (emu::block->cur->idx)
#define blockIdx (emu::block->blockIdx)
#define blockDim (emu::block->blockDim)
#define gridDim (emu::block->gridDim)

inline void __syncthreads() { emu::barrier(); }

template <typename V> V __shfl_xor_sync(unsigned, V v, int laneMask, int = 32) {
  return emu::exchange(v, (int)(emu::block->cur->idx.x & 31) ^ laneMask);
}

template <typename V> V __shfl_down_sync(unsigned, V v, unsigned delta, int = 32) {
  unsigned lane = emu::block->cur->idx.x & 31;
  return emu::exchange(v, (int)(lane + delta < 32 ? lane + delta : lane));
}

inline int __float_as_int(float f) {
  int i;
  std::memcpy(&i, &f, 4);
  return i;
}

inline long long __double_as_longlong(double d) {
  long long i;
  std::memcpy(&i, &d, 8);
  return i;
}
