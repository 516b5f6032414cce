// The CPU emulation of the CUDA device behind capi.cuda.EmulatedDevice (JNI): device memory is host
// memory, kernels are kernels.cu compiled by g++ through emu.h and run block by block with the
// threads of a block as coroutines, and the GEMM is a naive loop with cuBLAS's column-major
// strided-batched semantics and its dtype rules (float64; float32, optionally TF32-rounded inputs;
// bf16 inputs into float32 or bf16; all but float64 accumulate in float32).
#include "emu.h"

#include <jni.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "../cuda/kernels.cu"

// The built-ins are the kernels' only; the runtime below names the fields directly.
#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim

namespace emu {
thread_local Block* block = nullptr;

static std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r;
  return r;
}

void add(const Entry& e) { registry()[e.name] = e; }

// ---- coroutines ------------------------------------------------------------------------------------
// capi_emu_switch(&from_sp, to_sp): saves the callee-saved registers on the current stack, stores
// the stack pointer in *from_sp, loads to_sp and restores that stack's registers (System V x86-64).
extern "C" void capi_emu_switch(void** from, void* to);
asm(R"(
.text
.globl capi_emu_switch
.type capi_emu_switch,@function
capi_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size capi_emu_switch,.-capi_emu_switch
.section .note.GNU-stack,"",@progbits
.text
)");

static const size_t STACK_BYTES = 256 * 1024;
static const unsigned MAX_THREADS = 1024;

// Per OS thread: coroutine stacks (mapped once, reused by every launch) and the thread records.
struct Workspace {
  std::vector<char*> stacks;
  std::vector<Thread> threads;
  std::vector<uint64_t> slots;

  char* stack(unsigned i) {
    while (stacks.size() <= i) {
      void* p = mmap(nullptr, STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) return nullptr;
      stacks.push_back((char*)p);
    }
    return stacks[i];
  }
};
static thread_local Workspace workspace;

// Where a new thread starts: runs the kernel body, then returns to the scheduler for good.
static void threadEntry() {
  Block* b = block;
  (*b->body)();
  b->cur->state = State::DONE;
  void* unused;
  capi_emu_switch(&unused, b->schedulerSp);
  __builtin_unreachable();
}

// A fresh stack whose first switch "returns" into threadEntry (16-byte aligned as after a call).
static void* freshStack(char* base) {
  uintptr_t top = ((uintptr_t)(base + STACK_BYTES)) & ~(uintptr_t)15;
  void** sp = (void**)top;
  *--sp = nullptr;                      // threadEntry's return address: never used
  *--sp = (void*)&threadEntry;          // popped by capi_emu_switch's ret
  for (int i = 0; i < 6; i++) *--sp = nullptr; // rbp rbx r12 r13 r14 r15
  return sp;
}

void barrier() {
  Block* b = block;
  b->cur->state = State::BARRIER;
  capi_emu_switch(&b->cur->sp, b->schedulerSp);
}

// Runs one block to completion; returns an error message or empty.
static std::string runBlock(Block& b, unsigned n) {
  Workspace& w = workspace;
  for (unsigned t = 0; t < n; t++) {
    char* s = w.stack(t);
    if (!s) return "cannot map a coroutine stack";
    w.threads[t].idx = Dim{t % b.blockDim.x, t / b.blockDim.x % b.blockDim.y, t / (b.blockDim.x * b.blockDim.y)};
    w.threads[t].sp = freshStack(s);
    w.threads[t].state = State::RUNNABLE;
  }
  for (;;) {
    unsigned done = 0;
    for (unsigned t = 0; t < n; t++) {
      Thread& th = w.threads[t];
      if (th.state != State::DONE) {
        th.state = State::RUNNABLE;
        b.cur = &th;
        capi_emu_switch(&b.schedulerSp, th.sp);
      }
      if (th.state == State::DONE) done++;
    }
    if (done == n) return "";
    if (done > 0) return "__syncthreads or a shuffle reached by " + std::to_string(n - done) + " of " + std::to_string(n) + " threads";
  }
}

static std::string launch(const Entry& e, Dim grid, Dim blockDim, const unsigned char* args) {
  unsigned n = blockDim.x * blockDim.y * blockDim.z;
  if (n == 0 || n > MAX_THREADS) return "block of " + std::to_string(n) + " threads";
  if (blockDim.x % 32 != 0) return "blockDim.x " + std::to_string(blockDim.x) + " is not a multiple of 32";
  Workspace& w = workspace;
  if (w.threads.size() < n) w.threads.resize(n);
  if (w.slots.size() < n) w.slots.resize(n);
  std::function<void()> body = [&e, args] { e.call(e.fn, args); };
  Block b{};
  b.blockDim = blockDim;
  b.gridDim = grid;
  b.slots = w.slots.data();
  b.body = &body;
  Block* saved = block;
  block = &b;
  std::string err;
  for (unsigned z = 0; z < grid.z && err.empty(); z++)
    for (unsigned y = 0; y < grid.y && err.empty(); y++)
      for (unsigned x = 0; x < grid.x && err.empty(); x++) {
        b.blockIdx = Dim{x, y, z};
        err = runBlock(b, n);
      }
  block = saved;
  return err;
}

// ---- the GEMM: cublasGemmStridedBatchedEx semantics, column-major --------------------------------
// A and B of one storage type, C of the same or float32 (A and B bf16); accumulation in double for
// double, else in float, with A's and B's elements rounded to TF32 first when tf32 is set.
static float tf32(float x) { // round to nearest even at 10 mantissa bits
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
  std::memcpy(&x, &u, 4);
  return x;
}

// Element x of storage T in the accumulation type Acc (bf16 through float), and back.
template <typename Acc, typename T> static Acc load(T x) { return (Acc)x; }
template <> float load<float, bf16>(bf16 x) { return __bfloat162float(x); }
template <typename T, typename Acc> static T store(Acc x) { return (T)x; }
template <> bf16 store<bf16, float>(float x) { return __float2bfloat16_rn(x); }

template <typename In, typename Out, typename Acc>
static void gemm(bool ta, bool tb, long m, long n, long k, Acc alpha, const In* A, long lda, long sa, const In* B, long ldb,
                 long sb, Acc beta, Out* C, long ldc, long sc, long batch, bool round) {
  for (long q = 0; q < batch; q++) {
    const In *a = A + q * sa, *b = B + q * sb;
    Out* c = C + q * sc;
    for (long j = 0; j < n; j++)
      for (long i = 0; i < m; i++) {
        Acc s = 0;
        for (long l = 0; l < k; l++) {
          Acc x = load<Acc>(ta ? a[l + i * lda] : a[i + l * lda]), y = load<Acc>(tb ? b[j + l * ldb] : b[l + j * ldb]);
          if (round) {
            x = tf32((float)x);
            y = tf32((float)y);
          }
          s += x * y;
        }
        Out& o = c[i + j * ldc];
        o = store<Out>(beta == 0 ? alpha * s : alpha * s + beta * load<Acc>(o));
      }
  }
}
} // namespace emu

// ---- JNI: capi.cuda.EmulatedDevice ---------------------------------------------------------------------
static void* ptr(jlong p) { return reinterpret_cast<void*>(p); }

extern "C" {
JNIEXPORT jlong JNICALL Java_capi_cuda_EmulatedDevice_nAlloc(JNIEnv*, jclass, jlong bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes > 0 ? (size_t)bytes : 1) != 0) return 0;
  return reinterpret_cast<jlong>(p);
}

JNIEXPORT void JNICALL Java_capi_cuda_EmulatedDevice_nFree(JNIEnv*, jclass, jlong p) { std::free(ptr(p)); }

JNIEXPORT void JNICALL Java_capi_cuda_EmulatedDevice_nMemset(JNIEnv*, jclass, jlong p, jint value, jlong bytes) {
  std::memset(ptr(p), value, (size_t)bytes);
}

JNIEXPORT void JNICALL Java_capi_cuda_EmulatedDevice_nCopy(JNIEnv*, jclass, jlong src, jlong dst, jlong bytes) {
  std::memmove(ptr(dst), ptr(src), (size_t)bytes);
}

JNIEXPORT void JNICALL Java_capi_cuda_EmulatedDevice_nToDevice(JNIEnv* env, jclass, jobject src, jlong srcOffset, jlong dst, jlong bytes) {
  std::memcpy(ptr(dst), (char*)env->GetDirectBufferAddress(src) + srcOffset, (size_t)bytes);
}

JNIEXPORT void JNICALL Java_capi_cuda_EmulatedDevice_nToHost(JNIEnv* env, jclass, jlong src, jobject dst, jlong dstOffset, jlong bytes) {
  std::memcpy((char*)env->GetDirectBufferAddress(dst) + dstOffset, ptr(src), (size_t)bytes);
}

// "name/arity" of every kernel
JNIEXPORT jobjectArray JNICALL Java_capi_cuda_EmulatedDevice_nKernels(JNIEnv* env, jclass) {
  auto& r = emu::registry();
  jobjectArray out = env->NewObjectArray((jsize)r.size(), env->FindClass("java/lang/String"), nullptr);
  jsize i = 0;
  for (auto& kv : r) {
    std::string s = kv.first + "/" + std::to_string(kv.second.arity);
    env->SetObjectArrayElement(out, i++, env->NewStringUTF(s.c_str()));
  }
  return out;
}

// Runs kernel `name`; returns null or what went wrong.
JNIEXPORT jstring JNICALL Java_capi_cuda_EmulatedDevice_nLaunch(JNIEnv* env, jclass, jstring name, jint gridX, jint blockX,
                                                               jobject args, jint nargs) {
  const char* n = env->GetStringUTFChars(name, nullptr);
  std::string kernel(n);
  env->ReleaseStringUTFChars(name, n);
  auto it = emu::registry().find(kernel);
  std::string err;
  if (it == emu::registry().end()) err = "no kernel " + kernel;
  else if (it->second.arity != nargs) err = kernel + " takes " + std::to_string(it->second.arity) + " arguments, not " + std::to_string(nargs);
  else if (gridX <= 0) err = kernel + ": grid of " + std::to_string(gridX) + " blocks";
  else {
    err = emu::launch(it->second, emu::Dim{(unsigned)gridX, 1, 1}, emu::Dim{(unsigned)blockX, 1, 1},
                      (const unsigned char*)env->GetDirectBufferAddress(args));
    if (!err.empty()) err = kernel + ": " + err;
  }
  return err.empty() ? nullptr : env->NewStringUTF(err.c_str());
}

// ab, c: capi.engine.DType ordinals (F32 0, F64 1, BF16 2); the combinations capi.cuda.GemmType allows
JNIEXPORT jstring JNICALL Java_capi_cuda_EmulatedDevice_nGemm(JNIEnv* env, jclass, jint ab, jint c, jboolean tf32, jboolean ta,
                                                             jboolean tb, jint m, jint n, jint k, jdouble alpha, jlong a, jint lda,
                                                             jlong sa, jlong b, jint ldb, jlong sb, jdouble beta, jlong cp, jint ldc,
                                                             jlong sc, jint batch) {
  if (ab == F64 && c == F64) {
    emu::gemm<double, double, double>(ta, tb, m, n, k, alpha, (const double*)ptr(a), lda, sa, (const double*)ptr(b), ldb, sb, beta,
                                      (double*)ptr(cp), ldc, sc, batch, false);
  } else if (ab == F32 && c == F32) {
    emu::gemm<float, float, float>(ta, tb, m, n, k, (float)alpha, (const float*)ptr(a), lda, sa, (const float*)ptr(b), ldb, sb,
                                   (float)beta, (float*)ptr(cp), ldc, sc, batch, tf32);
  } else if (ab == BF16 && c == F32) {
    emu::gemm<bf16, float, float>(ta, tb, m, n, k, (float)alpha, (const bf16*)ptr(a), lda, sa, (const bf16*)ptr(b), ldb, sb,
                                  (float)beta, (float*)ptr(cp), ldc, sc, batch, false);
  } else if (ab == BF16 && c == BF16) {
    emu::gemm<bf16, bf16, float>(ta, tb, m, n, k, (float)alpha, (const bf16*)ptr(a), lda, sa, (const bf16*)ptr(b), ldb, sb,
                                 (float)beta, (bf16*)ptr(cp), ldc, sc, batch, false);
  } else {
    return env->NewStringUTF(("no GEMM of storage " + std::to_string(ab) + " into " + std::to_string(c)).c_str());
  }
  return nullptr;
}
}
