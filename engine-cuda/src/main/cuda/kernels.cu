// The CUDA backend's kernels: every Backend primitive that is not a GEMM (capi.engine.Backend has
// the exact semantics; capi.cuda.Kernel lists each entry point with its parameter count). Each
// primitive is a template over the storage type T (float, double; bf16 where noted) computing in
// Acc<T> (float for float and bf16, double for double), and is instantiated as extern "C" entry
// points NAME_f32 / NAME_f64 (the names capi.cuda.Kernel launches). Row-major matrices; "rows" and
// "cols" are their shape. Launch shapes are chosen by capi.cuda.CudaBackend: element kernels with
// any grid (grid-stride loops), row kernels with a block per row (ROW_LOOP), column kernels with a
// thread per column.
#include "common.cuh"

#define FLOATS(M) M(f32, float) M(f64, double)

// ---- element-wise --------------------------------------------------------------------------------

// x[i] ← v
template <typename T> __device__ void fill_k(T* x, long n, double v) {
  T t = from_acc<T>((typename Acc<T>::type)v);
  GRID_LOOP(i, n) x[i] = t;
}
#define DEF(S, T) KERNEL void fill_##S(T* x, long n, double v) { fill_k(x, n, v); } EMU_REGISTER(fill_##S)
FLOATS(DEF) DEF(bf16, bf16)
#undef DEF

// y[i] += a·x[i]
template <typename T> __device__ void axpy_k(long n, double a, const T* x, T* y) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(i, n) y[i] = from_acc<T>(to_acc(y[i]) + (A)a * to_acc(x[i]));
}
#define DEF(S, T) KERNEL void axpy_##S(long n, double a, const T* x, T* y) { axpy_k(n, a, x, y); } EMU_REGISTER(axpy_##S)
FLOATS(DEF)
#undef DEF

// x[i] ← a·x[i]
template <typename T> __device__ void scale_k(long n, double a, T* x) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(i, n) x[i] = from_acc<T>((A)a * to_acc(x[i]));
}
#define DEF(S, T) KERNEL void scale_##S(long n, double a, T* x) { scale_k(n, a, x); } EMU_REGISTER(scale_##S)
FLOATS(DEF)
#undef DEF

// teacher[i] ← m·teacher[i] + (1 − m)·student[i]
template <typename T> __device__ void ema_k(long n, double m, T* teacher, const T* student) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(i, n) teacher[i] = from_acc<T>((A)m * to_acc(teacher[i]) + (A)(1 - m) * to_acc(student[i]));
}
#define DEF(S, T) KERNEL void ema_##S(long n, double m, T* teacher, const T* student) { ema_k(n, m, teacher, student); } EMU_REGISTER(ema_##S)
FLOATS(DEF)
#undef DEF

// partial[block] ← Σ x² over the block's grid-stride share, in float64.
template <typename T> __device__ void sum_squares_k(const T* x, long n, double* partial) {
  double s = 0;
  GRID_LOOP(i, n) {
    double v = (double)to_acc(x[i]);
    s += v * v;
  }
  s = block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
#define DEF(S, T) KERNEL void sum_squares_##S(const T* x, long n, double* partial) { sum_squares_k(x, n, partial); } EMU_REGISTER(sum_squares_##S)
FLOATS(DEF)
#undef DEF

// out[0] ← Σ in[0, n) (one block; the host reads it).
KERNEL void sum_f64(const double* in, long n, double* out) {
  double s = 0;
  for (long i = threadIdx.x; i < n; i += blockDim.x) s += in[i];
  s = block_sum(s);
  if (threadIdx.x == 0) out[0] = s;
}
EMU_REGISTER(sum_f64)

// Polynomial hash of the bit patterns, h ← 31·h + bits, per chunk of `chunk` elements:
// out[c] = Σ_{i in chunk c} bits_i·31^(end_c − 1 − i) (mod 2^64); the host chains the chunks.
// bits are Java's: the float's int bits sign-extended, the double's long bits.
__device__ __forceinline__ unsigned long long bits_of(float v) { return (unsigned long long)(long long)__float_as_int(v); }
__device__ __forceinline__ unsigned long long bits_of(double v) { return (unsigned long long)__double_as_longlong(v); }
template <typename T> __device__ void checksum_k(const T* x, long n, long chunk, unsigned long long* out) {
  GRID_LOOP(c, (n + chunk - 1) / chunk) {
    long end = c * chunk + chunk < n ? c * chunk + chunk : n;
    unsigned long long h = 0;
    for (long i = c * chunk; i < end; i++) h = h * 31ull + bits_of(x[i]);
    out[c] = h;
  }
}
#define DEF(S, T) KERNEL void checksum_##S(const T* x, long n, long chunk, unsigned long long* out) { checksum_k(x, n, chunk, out); } EMU_REGISTER(checksum_##S)
FLOATS(DEF)
#undef DEF

// dst ← src converted (bf16 GEMM inputs of float tensors)
KERNEL void convert_f32_bf16(const float* src, bf16* dst, long n) { GRID_LOOP(i, n) dst[i] = __float2bfloat16_rn(src[i]); }
EMU_REGISTER(convert_f32_bf16)
KERNEL void convert_bf16_f32(const bf16* src, float* dst, long n) { GRID_LOOP(i, n) dst[i] = __bfloat162float(src[i]); }
EMU_REGISTER(convert_bf16_f32)

// ---- rows -----------------------------------------------------------------------------------------

// x[r, c] += v[c]
template <typename T> __device__ void add_row_vector_k(T* x, long rows, long cols, const T* v) {
  GRID_LOOP(i, rows * cols) x[i] = from_acc<T>(to_acc(x[i]) + to_acc(v[i % cols]));
}
#define DEF(S, T) KERNEL void add_row_vector_##S(T* x, long rows, long cols, const T* v) { add_row_vector_k(x, rows, cols, v); } EMU_REGISTER(add_row_vector_##S)
FLOATS(DEF)
#undef DEF

// partial[ch, c] ← Σ_{r in chunk ch} x[r, c]: a thread per (column, chunk of rowsPerChunk rows).
template <typename T> __device__ void sum_rows_partial_k(const T* x, long rows, long cols, long rowsPerChunk,
                                                         typename Acc<T>::type* partial) {
  typedef typename Acc<T>::type A;
  long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
  GRID_LOOP(i, chunks * cols) {
    long ch = i / cols, c = i % cols, end = (ch + 1) * rowsPerChunk < rows ? (ch + 1) * rowsPerChunk : rows;
    A s = 0;
    for (long r = ch * rowsPerChunk; r < end; r++) s += to_acc(x[r * cols + c]);
    partial[i] = s;
  }
}
#define DEF(S, T) KERNEL void sum_rows_partial_##S(const T* x, long rows, long cols, long rowsPerChunk, Acc<T>::type* partial) { sum_rows_partial_k(x, rows, cols, rowsPerChunk, partial); } EMU_REGISTER(sum_rows_partial_##S)
FLOATS(DEF)
#undef DEF

// out[c] += Σ_ch partial[ch, c], chunks in order.
template <typename T> __device__ void add_partials_k(const typename Acc<T>::type* partial, long chunks, long cols, T* out) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(c, cols) {
    A s = 0;
    for (long ch = 0; ch < chunks; ch++) s += partial[ch * cols + c];
    out[c] = from_acc<T>(to_acc(out[c]) + s);
  }
}
#define DEF(S, T) KERNEL void add_partials_##S(const Acc<T>::type* partial, long chunks, long cols, T* out) { add_partials_k(partial, chunks, cols, out); } EMU_REGISTER(add_partials_##S)
FLOATS(DEF)
#undef DEF

// dst[i, :] ← src[index[i], :]
template <typename T> __device__ void gather_rows_k(const T* src, const int* index, long n, long cols, T* dst) {
  GRID_LOOP(e, n * cols) dst[e] = src[(long)index[e / cols] * cols + e % cols];
}
#define DEF(S, T) KERNEL void gather_rows_##S(const T* src, const int* index, long n, long cols, T* dst) { gather_rows_k(src, index, n, cols, dst); } EMU_REGISTER(gather_rows_##S)
FLOATS(DEF)
#undef DEF

// dst[index[i], :] += alpha·src[i, :] where the indices are distinct: every element at once.
template <typename T> __device__ void scatter_add_rows_k(const T* src, const int* index, long n, long cols, double alpha, T* dst) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(e, n * cols) {
    long d = (long)index[e / cols] * cols + e % cols;
    dst[d] = from_acc<T>(to_acc(dst[d]) + (A)alpha * to_acc(src[e]));
  }
}
#define DEF(S, T) KERNEL void scatter_add_rows_##S(const T* src, const int* index, long n, long cols, double alpha, T* dst) { scatter_add_rows_k(src, index, n, cols, alpha, dst); } EMU_REGISTER(scatter_add_rows_##S)
FLOATS(DEF)
#undef DEF

// The same where indices repeat: a thread per column adds the rows in index order.
template <typename T> __device__ void scatter_add_rows_serial_k(const T* src, const int* index, long n, long cols, double alpha, T* dst) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(c, cols) {
    for (long i = 0; i < n; i++) {
      long d = (long)index[i] * cols + c;
      dst[d] = from_acc<T>(to_acc(dst[d]) + (A)alpha * to_acc(src[i * cols + c]));
    }
  }
}
#define DEF(S, T) KERNEL void scatter_add_rows_serial_##S(const T* src, const int* index, long n, long cols, double alpha, T* dst) { scatter_add_rows_serial_k(src, index, n, cols, alpha, dst); } EMU_REGISTER(scatter_add_rows_serial_##S)
FLOATS(DEF)
#undef DEF

// dst (n, C·p·p) ← patches of images (B, C, H, W) at flat indices b·N + cell, (c, i, j) order.
template <typename T> __device__ void patchify_k(const T* images, int channels, int height, int width, int patch,
                                                 const int* index, long n, T* dst) {
  long per = (long)channels * patch * patch;
  int gw = width / patch, cells = (height / patch) * gw;
  GRID_LOOP(e, n * per) {
    long i = e / per, q = e % per;
    int idx = index[i], img = idx / cells, cell = idx % cells;
    int c = (int)(q / (patch * patch)), y = (int)(q / patch % patch), x = (int)(q % patch);
    dst[e] = images[(((long)img * channels + c) * height + (long)(cell / gw) * patch + y) * width + (long)(cell % gw) * patch + x];
  }
}
#define DEF(S, T) KERNEL void patchify_##S(const T* images, int channels, int height, int width, int patch, const int* index, long n, T* dst) { patchify_k(images, channels, height, width, patch, index, n, dst); } EMU_REGISTER(patchify_##S)
FLOATS(DEF)
#undef DEF

// ---- normalisations -------------------------------------------------------------------------------

// y = x·rstd·w (w null: no weight), rstd[r] = 1/sqrt(mean(x_r²) + eps)
template <typename T> __device__ void rms_norm_k(const T* x, const T* w, long rows, long cols, double eps, T* y, T* rstd) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    const T* xr = x + r * cols;
    A ss = 0;
    COL_LOOP(c, cols) ss += to_acc(xr[c]) * to_acc(xr[c]);
    ss = block_sum(ss);
    A inv = (A)1 / k_sqrt(ss / (A)cols + (A)eps);
    COL_LOOP(c, cols) y[r * cols + c] = from_acc<T>(to_acc(xr[c]) * inv * (w ? to_acc(w[c]) : (A)1));
    if (threadIdx.x == 0) rstd[r] = from_acc<T>(inv);
  }
}
#define DEF(S, T) KERNEL void rms_norm_##S(const T* x, const T* w, long rows, long cols, double eps, T* y, T* rstd) { rms_norm_k(x, w, rows, cols, eps, y, rstd); } EMU_REGISTER(rms_norm_##S)
FLOATS(DEF)
#undef DEF

// dx += dy·w·rstd − rstd³·(Σ dy·w·x)/cols·x
template <typename T> __device__ void rms_norm_backward_k(const T* x, const T* w, const T* rstd, const T* dy, long rows, long cols, T* dx) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    const T *xr = x + r * cols, *gr = dy + r * cols;
    A dot = 0;
    COL_LOOP(c, cols) dot += to_acc(gr[c]) * (w ? to_acc(w[c]) : (A)1) * to_acc(xr[c]);
    dot = block_sum(dot);
    A inv = to_acc(rstd[r]), k = inv * inv * inv * dot / (A)cols;
    COL_LOOP(c, cols) {
      A g = to_acc(gr[c]) * (w ? to_acc(w[c]) : (A)1);
      dx[r * cols + c] = from_acc<T>(to_acc(dx[r * cols + c]) + g * inv - k * to_acc(xr[c]));
    }
  }
}
#define DEF(S, T) KERNEL void rms_norm_backward_##S(const T* x, const T* w, const T* rstd, const T* dy, long rows, long cols, T* dx) { rms_norm_backward_k(x, w, rstd, dy, rows, cols, dx); } EMU_REGISTER(rms_norm_backward_##S)
FLOATS(DEF)
#undef DEF

// partial[ch, c] ← Σ_{r in chunk ch} dy[r, c]·x[r, c]·rstd[r] (the gain's gradient, finished by add_partials)
template <typename T> __device__ void rms_norm_dw_partial_k(const T* x, const T* rstd, const T* dy, long rows, long cols,
                                                            long rowsPerChunk, typename Acc<T>::type* partial) {
  typedef typename Acc<T>::type A;
  long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
  GRID_LOOP(i, chunks * cols) {
    long ch = i / cols, c = i % cols, end = (ch + 1) * rowsPerChunk < rows ? (ch + 1) * rowsPerChunk : rows;
    A s = 0;
    for (long r = ch * rowsPerChunk; r < end; r++) s += to_acc(dy[r * cols + c]) * to_acc(x[r * cols + c]) * to_acc(rstd[r]);
    partial[i] = s;
  }
}
#define DEF(S, T) KERNEL void rms_norm_dw_partial_##S(const T* x, const T* rstd, const T* dy, long rows, long cols, long rowsPerChunk, Acc<T>::type* partial) { rms_norm_dw_partial_k(x, rstd, dy, rows, cols, rowsPerChunk, partial); } EMU_REGISTER(rms_norm_dw_partial_##S)
FLOATS(DEF)
#undef DEF

// y = x / max(‖x_r‖, eps); norm[r] = ‖x_r‖
template <typename T> __device__ void l2_normalize_k(const T* x, long rows, long cols, double eps, T* y, T* norm) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    const T* xr = x + r * cols;
    A ss = 0;
    COL_LOOP(c, cols) ss += to_acc(xr[c]) * to_acc(xr[c]);
    A n = k_sqrt(block_sum(ss)), inv = (A)1 / k_max(n, (A)eps);
    COL_LOOP(c, cols) y[r * cols + c] = from_acc<T>(to_acc(xr[c]) * inv);
    if (threadIdx.x == 0) norm[r] = from_acc<T>(n);
  }
}
#define DEF(S, T) KERNEL void l2_normalize_##S(const T* x, long rows, long cols, double eps, T* y, T* norm) { l2_normalize_k(x, rows, cols, eps, y, norm); } EMU_REGISTER(l2_normalize_##S)
FLOATS(DEF)
#undef DEF

// dx ← (dy − y·(y·dy))/‖x‖ when ‖x‖ > eps, else dy/eps
template <typename T> __device__ void l2_normalize_backward_k(const T* y, const T* norm, const T* dy, long rows, long cols, double eps, T* dx) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    const T *yr = y + r * cols, *gr = dy + r * cols;
    A dot = 0;
    COL_LOOP(c, cols) dot += to_acc(yr[c]) * to_acc(gr[c]);
    dot = block_sum(dot);
    A n = to_acc(norm[r]);
    COL_LOOP(c, cols) {
      A g = to_acc(gr[c]);
      dx[r * cols + c] = from_acc<T>(n > (A)eps ? (g - to_acc(yr[c]) * dot) / n : g / (A)eps);
    }
  }
}
#define DEF(S, T) KERNEL void l2_normalize_backward_##S(const T* y, const T* norm, const T* dy, long rows, long cols, double eps, T* dx) { l2_normalize_backward_k(y, norm, dy, rows, cols, eps, dx); } EMU_REGISTER(l2_normalize_backward_##S)
FLOATS(DEF)
#undef DEF

// w = g[r]·v / (‖v_r‖ + 1e-8); norms[r] = ‖v_r‖
template <typename T> __device__ void weight_norm_k(const T* v, const T* g, long rows, long cols, T* w, T* norms) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    const T* vr = v + r * cols;
    A ss = 0;
    COL_LOOP(c, cols) ss += to_acc(vr[c]) * to_acc(vr[c]);
    A n = k_sqrt(block_sum(ss)), k = to_acc(g[r]) / (n + (A)1e-8);
    COL_LOOP(c, cols) w[r * cols + c] = from_acc<T>(to_acc(vr[c]) * k);
    if (threadIdx.x == 0) norms[r] = from_acc<T>(n);
  }
}
#define DEF(S, T) KERNEL void weight_norm_##S(const T* v, const T* g, long rows, long cols, T* w, T* norms) { weight_norm_k(v, g, rows, cols, w, norms); } EMU_REGISTER(weight_norm_##S)
FLOATS(DEF)
#undef DEF

// dg[r] += (dw·v)/(n + 1e-8); dv += g/(n + 1e-8)·dw − g·(dw·v)/((n + 1e-8)²·n)·v
template <typename T> __device__ void weight_norm_backward_k(const T* v, const T* g, const T* norms, const T* dw, long rows, long cols, T* dv, T* dg) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    const T *vr = v + r * cols, *dr = dw + r * cols;
    A dot = 0;
    COL_LOOP(c, cols) dot += to_acc(dr[c]) * to_acc(vr[c]);
    dot = block_sum(dot);
    A n = to_acc(norms[r]), den = n + (A)1e-8, gr = to_acc(g[r]), k = n > 0 ? gr * dot / (den * den * n) : (A)0;
    COL_LOOP(c, cols) dv[r * cols + c] = from_acc<T>(to_acc(dv[r * cols + c]) + gr / den * to_acc(dr[c]) - k * to_acc(vr[c]));
    if (threadIdx.x == 0) dg[r] = from_acc<T>(to_acc(dg[r]) + dot / den);
  }
}
#define DEF(S, T) KERNEL void weight_norm_backward_##S(const T* v, const T* g, const T* norms, const T* dw, long rows, long cols, T* dv, T* dg) { weight_norm_backward_k(v, g, norms, dw, rows, cols, dv, dg); } EMU_REGISTER(weight_norm_backward_##S)
FLOATS(DEF)
#undef DEF

// ---- activations and attention --------------------------------------------------------------------

// y = 0.5·x·(1 + erf(x/√2)), the exact GELU
template <typename T> __device__ void gelu_k(const T* x, T* y, long n) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(i, n) {
    A v = to_acc(x[i]);
    y[i] = from_acc<T>((A)0.5 * v * ((A)1 + k_erf(v * (A)0.70710678118654752440)));
  }
}
#define DEF(S, T) KERNEL void gelu_##S(const T* x, T* y, long n) { gelu_k(x, y, n); } EMU_REGISTER(gelu_##S)
FLOATS(DEF)
#undef DEF

// dx ← dy·(Φ(x) + x·φ(x)) (dx may be dy)
template <typename T> __device__ void gelu_backward_k(const T* x, const T* dy, T* dx, long n) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(i, n) {
    A v = to_acc(x[i]);
    A cdf = (A)0.5 * ((A)1 + k_erf(v * (A)0.70710678118654752440));
    A pdf = (A)0.39894228040143267794 * k_exp((A)-0.5 * v * v);
    dx[i] = from_acc<T>(to_acc(dy[i]) * (cdf + v * pdf));
  }
}
#define DEF(S, T) KERNEL void gelu_backward_##S(const T* x, const T* dy, T* dx, long n) { gelu_backward_k(x, dy, dx, n); } EMU_REGISTER(gelu_backward_##S)
FLOATS(DEF)
#undef DEF

// cos/sin[r, c] of angle coords[r, 0]·freqs[0, c] + coords[r, 1]·freqs[1, c], in float64
template <typename T> __device__ void rope_tables_k(const T* coords, const T* freqs, long rows, int headDim, T* cosT, T* sinT) {
  GRID_LOOP(e, rows * headDim) {
    long r = e / headDim;
    int c = (int)(e % headDim);
    double a = (double)to_acc(coords[2 * r]) * (double)to_acc(freqs[c]) + (double)to_acc(coords[2 * r + 1]) * (double)to_acc(freqs[headDim + c]);
    cosT[e] = from_acc<T>((typename Acc<T>::type)cos(a));
    sinT[e] = from_acc<T>((typename Acc<T>::type)sin(a));
  }
}
#define DEF(S, T) KERNEL void rope_tables_##S(const T* coords, const T* freqs, long rows, int headDim, T* cosT, T* sinT) { rope_tables_k(coords, freqs, rows, headDim, cosT, sinT); } EMU_REGISTER(rope_tables_##S)
FLOATS(DEF)
#undef DEF

// per head, pairs (k, k + d/2): x1' = x1·cos_k − x2·sin_k, x2' = x2·cos_{k+h} + x1·sin_{k+h}; transposed for the backward
template <typename T> __device__ void rope_k(T* x, const T* cosT, const T* sinT, long rows, int heads, int headDim, int transpose) {
  typedef typename Acc<T>::type A;
  int half = headDim / 2;
  GRID_LOOP(e, rows * heads * half) {
    long r = e / ((long)heads * half);
    int h = (int)(e / half % heads), k = (int)(e % half);
    long o = (r * heads + h) * headDim + k, t = r * headDim + k;
    A x1 = to_acc(x[o]), x2 = to_acc(x[o + half]);
    A c1 = to_acc(cosT[t]), c2 = to_acc(cosT[t + half]), s1 = to_acc(sinT[t]), s2 = to_acc(sinT[t + half]);
    if (!transpose) {
      x[o] = from_acc<T>(x1 * c1 - x2 * s1);
      x[o + half] = from_acc<T>(x2 * c2 + x1 * s2);
    } else {
      x[o] = from_acc<T>(x1 * c1 + x2 * s2);
      x[o + half] = from_acc<T>(x2 * c2 - x1 * s1);
    }
  }
}
#define DEF(S, T) KERNEL void rope_##S(T* x, const T* cosT, const T* sinT, long rows, int heads, int headDim, int transpose) { rope_k(x, cosT, sinT, rows, heads, headDim, transpose); } EMU_REGISTER(rope_##S)
FLOATS(DEF)
#undef DEF

// each row ← softmax(row), in place
template <typename T> __device__ void softmax_rows_k(T* x, long rows, long cols) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    T* xr = x + r * cols;
    A m = neg_inf<A>();
    COL_LOOP(c, cols) m = k_max(m, to_acc(xr[c]));
    m = block_max(m);
    A s = 0;
    COL_LOOP(c, cols) s += k_exp(to_acc(xr[c]) - m);
    A inv = (A)1 / block_sum(s);
    COL_LOOP(c, cols) xr[c] = from_acc<T>(k_exp(to_acc(xr[c]) - m) * inv);
  }
}
#define DEF(S, T) KERNEL void softmax_rows_##S(T* x, long rows, long cols) { softmax_rows_k(x, rows, cols); } EMU_REGISTER(softmax_rows_##S)
FLOATS(DEF)
#undef DEF

// dp ← p ⊙ (dp − Σ_row p·dp), in place
template <typename T> __device__ void softmax_rows_backward_k(const T* p, T* dp, long rows, long cols) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    const T* pr = p + r * cols;
    T* gr = dp + r * cols;
    A dot = 0;
    COL_LOOP(c, cols) dot += to_acc(pr[c]) * to_acc(gr[c]);
    dot = block_sum(dot);
    COL_LOOP(c, cols) gr[c] = from_acc<T>(to_acc(pr[c]) * (to_acc(gr[c]) - dot));
  }
}
#define DEF(S, T) KERNEL void softmax_rows_backward_##S(const T* p, T* dp, long rows, long cols) { softmax_rows_backward_k(p, dp, rows, cols); } EMU_REGISTER(softmax_rows_backward_##S)
FLOATS(DEF)
#undef DEF

// ---- losses ---------------------------------------------------------------------------------------

// loss[r] ← −Σ_c t·log softmax(z/temp) (float64); dz (if not null) ← gradScale·(softmax(z/temp) − t)/temp
template <typename T> __device__ void soft_target_ce_k(const T* z, const T* t, long rows, long cols, double temp, T* dz,
                                                       double gradScale, double* loss) {
  typedef typename Acc<T>::type A;
  A invTemp = (A)(1 / temp);
  ROW_LOOP(r, rows) {
    const T *zr = z + r * cols, *tr = t + r * cols;
    A m = neg_inf<A>();
    COL_LOOP(c, cols) m = k_max(m, to_acc(zr[c]) * invTemp);
    m = block_max(m);
    A s = 0, dot = 0, mass = 0;
    COL_LOOP(c, cols) {
      A u = to_acc(zr[c]) * invTemp - m, q = to_acc(tr[c]);
      s += k_exp(u);
      dot += q * u;
      mass += q;
    }
    s = block_sum(s);
    dot = block_sum(dot);
    mass = block_sum(mass);
    if (threadIdx.x == 0) loss[r] = (double)mass * (double)k_log(s) - (double)dot;
    if (dz) {
      A k = (A)(gradScale / temp), inv = (A)1 / s;
      COL_LOOP(c, cols) dz[r * cols + c] = from_acc<T>(k * (k_exp(to_acc(zr[c]) * invTemp - m) * inv - to_acc(tr[c])));
    }
  }
}
#define DEF(S, T) KERNEL void soft_target_ce_##S(const T* z, const T* t, long rows, long cols, double temp, T* dz, double gradScale, double* loss) { soft_target_ce_k(z, t, rows, cols, temp, dz, gradScale, loss); } EMU_REGISTER(soft_target_ce_##S)
FLOATS(DEF)
#undef DEF

// out[r] ← −Σ_c p·log p (0·log 0 = 0), float64
template <typename T> __device__ void entropy_rows_k(const T* p, long rows, long cols, double* out) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, rows) {
    A h = 0;
    COL_LOOP(c, cols) {
      A v = to_acc(p[r * cols + c]);
      if (v > 0) h -= v * k_log(v);
    }
    h = block_sum(h);
    if (threadIdx.x == 0) out[r] = (double)h;
  }
}
#define DEF(S, T) KERNEL void entropy_rows_##S(const T* p, long rows, long cols, double* out) { entropy_rows_k(p, rows, cols, out); } EMU_REGISTER(entropy_rows_##S)
FLOATS(DEF)
#undef DEF

// ---- Sinkhorn-Knopp over (problems, samples, cols) -------------------------------------------------

// out[p, k] ← max (isMax) or Σ over samples of x[p, s, k]: a thread per (p, k), samples in order
template <typename T> __device__ void column_reduce_k(const T* x, long problems, long samples, long cols, T* out, int isMax) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(i, problems * cols) {
    long p = i / cols, k = i % cols;
    const T* col = x + p * samples * cols + k;
    A acc = isMax ? neg_inf<A>() : (A)0;
    for (long s = 0; s < samples; s++) acc = isMax ? k_max(acc, to_acc(col[s * cols])) : acc + to_acc(col[s * cols]);
    out[i] = from_acc<T>(acc);
  }
}
#define DEF(S, T) KERNEL void column_reduce_##S(const T* x, long problems, long samples, long cols, T* out, int isMax) { column_reduce_k(x, problems, samples, cols, out, isMax); } EMU_REGISTER(column_reduce_##S)
FLOATS(DEF)
#undef DEF

// x[p, s, k] ← exp(x[p, s, k] − shift[p, k] + offset)
template <typename T> __device__ void exp_shifted_k(T* x, const T* shift, long problems, long samples, long cols, double offset) {
  typedef typename Acc<T>::type A;
  GRID_LOOP(i, problems * samples * cols) {
    long p = i / (samples * cols), k = i % cols;
    x[i] = from_acc<T>(k_exp(to_acc(x[i]) - to_acc(shift[p * cols + k]) + (A)offset));
  }
}
#define DEF(S, T) KERNEL void exp_shifted_##S(T* x, const T* shift, long problems, long samples, long cols, double offset) { exp_shifted_k(x, shift, problems, samples, cols, offset); } EMU_REGISTER(exp_shifted_##S)
FLOATS(DEF)
#undef DEF

// Column step then row step of one Sinkhorn iteration: a block per row (p, s).
template <typename T> __device__ void sinkhorn_rows_k(T* x, const T* colsum, long problems, long samples, long cols, double eps) {
  typedef typename Acc<T>::type A;
  ROW_LOOP(r, problems * samples) {
    T* xr = x + r * cols;
    const T* cs = colsum + (r / samples) * cols;
    A s = 0;
    COL_LOOP(c, cols) {
      A v = to_acc(xr[c]) / (to_acc(cs[c]) + (A)eps);
      xr[c] = from_acc<T>(v);
      s += v;
    }
    A inv = (A)1 / (block_sum(s) + (A)eps);
    COL_LOOP(c, cols) xr[c] = from_acc<T>(to_acc(xr[c]) * inv);
  }
}
#define DEF(S, T) KERNEL void sinkhorn_rows_##S(T* x, const T* colsum, long problems, long samples, long cols, double eps) { sinkhorn_rows_k(x, colsum, problems, samples, cols, eps); } EMU_REGISTER(sinkhorn_rows_##S)
FLOATS(DEF)
#undef DEF

// ---- optimisation -----------------------------------------------------------------------------------

// PyTorch AdamW over segments [seg[i], seg[i+1]) with lr[i], wd[i] (seg has nseg + 1 entries);
// bc1 = 1 − β1^t, bc2sqrt = sqrt(1 − β2^t). Elements outside [seg[0], seg[nseg]) are untouched.
template <typename T> __device__ void adamw_k(T* p, const T* g, T* m, T* v, const long* seg, const double* lr, const double* wd,
                                             int nseg, double beta1, double beta2, double eps, double bc1, double bc2sqrt) {
  typedef typename Acc<T>::type A;
  long first = seg[0];
  GRID_LOOP(j, seg[nseg] - first) {
    long i = first + j;
    int lo = 0, hi = nseg - 1; // the segment s with seg[s] <= i < seg[s + 1]
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      if (seg[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    A gi = to_acc(g[i]);
    A mi = (A)beta1 * to_acc(m[i]) + (A)(1 - beta1) * gi;
    A vi = (A)beta2 * to_acc(v[i]) + (A)(1 - beta2) * gi * gi;
    A pi = to_acc(p[i]) * (A)(1 - lr[lo] * wd[lo]) - (A)(lr[lo] / bc1) * mi / (k_sqrt(vi) / (A)bc2sqrt + (A)eps);
    m[i] = from_acc<T>(mi);
    v[i] = from_acc<T>(vi);
    p[i] = from_acc<T>(pi);
  }
}
#define DEF(S, T) KERNEL void adamw_##S(T* p, const T* g, T* m, T* v, const long* seg, const double* lr, const double* wd, int nseg, double beta1, double beta2, double eps, double bc1, double bc2sqrt) { adamw_k(p, g, m, v, seg, lr, wd, nseg, beta1, beta2, eps, bc1, bc2sqrt); } EMU_REGISTER(adamw_##S)
FLOATS(DEF)
#undef DEF
