// The CUDA backend's kernels: every Backend primitive that is not a matrix product (capi.engine.Backend
// has the exact semantics; capi.cuda.Kernel lists each entry point with its parameter count). Each
// primitive is a template over the arithmetic type A, instantiated as extern "C" entry points
// NAME_f32 (float arithmetic: float32 and bf16-mixed) and NAME_f64 (double: float64); kernels whose
// result does not depend on the arithmetic (copies, conversions, fills, float64 sums) have one entry
// point NAME. Tensor arguments are untyped pointers read and written through View<A>, their storage
// types in the last parameter `dt` (common.cuh); index arguments are always int32.
//
// Row-major matrices; "rows" and "cols" are their shape. Launch shapes are chosen by
// capi.cuda.CudaBackend: element kernels with any grid (grid-stride loops), row kernels with a block
// per row (ROW_LOOP), column kernels with a thread per column.
#include "common.cuh"

// Entry points NAME_f32 and NAME_f64 of a template: DEF(suffix, A) is defined before each use.
#define ARITH(DEF) DEF(f32, float) DEF(f64, double)

// ---- copies, conversions, whole buffers ------------------------------------------------------------

// x[i] ← v (rounded to x's storage once: through double)
KERNEL void fill(void* xp, long n, double v, unsigned dt) {
  View<double> x(xp, dt, 0);
  GRID_LOOP(i, n) x.set(i, v);
}
EMU_REGISTER(fill)

// dst[i] ← src[i] converted (every storage type is exact in double, so one rounding)
KERNEL void convert(const void* srcp, void* dstp, long n, unsigned dt) {
  View<double> src(srcp, dt, 0), dst(dstp, dt, 1);
  GRID_LOOP(i, n) dst.set(i, src[i]);
}
EMU_REGISTER(convert)

// y[i] += a·x[i]
template <typename A> __device__ void axpy_k(long n, double a, const void* xp, void* yp, unsigned dt) {
  View<A> x(xp, dt, 0), y(yp, dt, 1);
  GRID_LOOP(i, n) y.set(i, y[i] + (A)a * x[i]);
}
#define DEF(S, A) KERNEL void axpy_##S(long n, double a, const void* x, void* y, unsigned dt) { axpy_k<A>(n, a, x, y, dt); } EMU_REGISTER(axpy_##S)
ARITH(DEF)
#undef DEF

// x[i] ← a·x[i]
template <typename A> __device__ void scale_k(long n, double a, void* xp, unsigned dt) {
  View<A> x(xp, dt, 0);
  GRID_LOOP(i, n) x.set(i, (A)a * x[i]);
}
#define DEF(S, A) KERNEL void scale_##S(long n, double a, void* x, unsigned dt) { scale_k<A>(n, a, x, dt); } EMU_REGISTER(scale_##S)
ARITH(DEF)
#undef DEF

// partial[block] ← Σ x² over the block's grid-stride share, in float64.
KERNEL void sum_squares(const void* xp, long n, double* partial, unsigned dt) {
  View<double> x(xp, dt, 0);
  double s = 0;
  GRID_LOOP(i, n) {
    double v = x[i];
    s += v * v;
  }
  s = block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
EMU_REGISTER(sum_squares)

// out[0] ← Σ in[0, n), one block: the scalars' slot of a float64 sum of partials.
KERNEL void sum_doubles(const double* in, long n, double* out) {
  double s = 0;
  for (long i = threadIdx.x; i < n; i += blockDim.x) s += in[i];
  s = block_sum(s);
  if (threadIdx.x == 0) out[0] = s;
}
EMU_REGISTER(sum_doubles)

// Polynomial hash of the bit patterns, h ← 31·h + bits, per chunk of `chunk` elements:
// out[c] = Σ_{i in chunk c} bits_i·31^(end_c − 1 − i) (mod 2^64); the host chains the chunks.
// bits: the element's bytes as a signed integer of its width, sign-extended (a float's are Java's
// floatToRawIntBits, a double's doubleToRawLongBits).
__device__ __forceinline__ unsigned long long bits_at(const void* x, unsigned s, long i) {
  switch (s) {
    case F64: return (unsigned long long)((const long long*)x)[i];
    case BF16: return (unsigned long long)(long long)((const short*)x)[i];
    case U8: return (unsigned long long)(long long)((const signed char*)x)[i];
    default: return (unsigned long long)(long long)((const int*)x)[i];
  }
}
KERNEL void checksum(const void* x, long n, long chunk, unsigned long long* out, unsigned dt) {
  unsigned s = storage_of(dt, 0);
  GRID_LOOP(c, (n + chunk - 1) / chunk) {
    long end = c * chunk + chunk < n ? c * chunk + chunk : n;
    unsigned long long h = 0;
    for (long i = c * chunk; i < end; i++) h = h * 31ull + bits_at(x, s, i);
    out[c] = h;
  }
}
EMU_REGISTER(checksum)

// ---- rows -----------------------------------------------------------------------------------------

// x[r, c] += v[c]
template <typename A> __device__ void add_row_vector_k(void* xp, long rows, long cols, const void* vp, unsigned dt) {
  View<A> x(xp, dt, 0), v(vp, dt, 1);
  GRID_LOOP(i, rows * cols) x.set(i, x[i] + v[i % cols]);
}
#define DEF(S, A) KERNEL void add_row_vector_##S(void* x, long rows, long cols, const void* v, unsigned dt) { add_row_vector_k<A>(x, rows, cols, v, dt); } EMU_REGISTER(add_row_vector_##S)
ARITH(DEF)
#undef DEF

// partial[ch, c] ← Σ_{r in chunk ch} x[r, c]: a thread per (column, chunk of rowsPerChunk rows).
template <typename A> __device__ void sum_rows_partial_k(const void* xp, long rows, long cols, long rowsPerChunk, A* partial,
                                                         unsigned dt) {
  View<A> x(xp, dt, 0);
  long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
  GRID_LOOP(i, chunks * cols) {
    long ch = i / cols, c = i % cols, end = (ch + 1) * rowsPerChunk < rows ? (ch + 1) * rowsPerChunk : rows;
    A s = 0;
    for (long r = ch * rowsPerChunk; r < end; r++) s += x[r * cols + c];
    partial[i] = s;
  }
}
#define DEF(S, A) KERNEL void sum_rows_partial_##S(const void* x, long rows, long cols, long rowsPerChunk, A* partial, unsigned dt) { sum_rows_partial_k<A>(x, rows, cols, rowsPerChunk, partial, dt); } EMU_REGISTER(sum_rows_partial_##S)
ARITH(DEF)
#undef DEF

// out[c] += Σ_ch partial[ch, c], chunks in order.
template <typename A> __device__ void add_partials_k(const A* partial, long chunks, long cols, void* outp, unsigned dt) {
  View<A> out(outp, dt, 0);
  GRID_LOOP(c, cols) {
    A s = 0;
    for (long ch = 0; ch < chunks; ch++) s += partial[ch * cols + c];
    out.set(c, out[c] + s);
  }
}
#define DEF(S, A) KERNEL void add_partials_##S(const A* partial, long chunks, long cols, void* out, unsigned dt) { add_partials_k<A>(partial, chunks, cols, out, dt); } EMU_REGISTER(add_partials_##S)
ARITH(DEF)
#undef DEF

// dst[i, :] ← src[index[i], :] (converted to dst's storage)
KERNEL void gather_rows(const void* srcp, const int* index, long n, long cols, void* dstp, unsigned dt) {
  View<double> src(srcp, dt, 0), dst(dstp, dt, 1);
  GRID_LOOP(e, n * cols) dst.set(e, src[(long)index[e / cols] * cols + e % cols]);
}
EMU_REGISTER(gather_rows)

// dst[index[i], :] += alpha·src[i, :] where the indices are distinct: every element at once.
template <typename A> __device__ void scatter_add_rows_k(const void* srcp, const int* index, long n, long cols, double alpha,
                                                         void* dstp, unsigned dt) {
  View<A> src(srcp, dt, 0), dst(dstp, dt, 1);
  GRID_LOOP(e, n * cols) {
    long d = (long)index[e / cols] * cols + e % cols;
    dst.set(d, dst[d] + (A)alpha * src[e]);
  }
}
#define DEF(S, A) KERNEL void scatter_add_rows_##S(const void* src, const int* index, long n, long cols, double alpha, void* dst, unsigned dt) { scatter_add_rows_k<A>(src, index, n, cols, alpha, dst, dt); } EMU_REGISTER(scatter_add_rows_##S)
ARITH(DEF)
#undef DEF

// The same where indices repeat: a thread per column adds the rows in index order.
template <typename A> __device__ void scatter_add_rows_serial_k(const void* srcp, const int* index, long n, long cols,
                                                                double alpha, void* dstp, unsigned dt) {
  View<A> src(srcp, dt, 0), dst(dstp, dt, 1);
  GRID_LOOP(c, cols) {
    for (long i = 0; i < n; i++) {
      long d = (long)index[i] * cols + c;
      dst.set(d, dst[d] + (A)alpha * src[i * cols + c]);
    }
  }
}
#define DEF(S, A) KERNEL void scatter_add_rows_serial_##S(const void* src, const int* index, long n, long cols, double alpha, void* dst, unsigned dt) { scatter_add_rows_serial_k<A>(src, index, n, cols, alpha, dst, dt); } EMU_REGISTER(scatter_add_rows_serial_##S)
ARITH(DEF)
#undef DEF

// dst (n, C·p·p) ← patches of images (B, C, H, W) at flat indices b·N + cell, (c, i, j) order.
KERNEL void patchify(const void* imagesp, int channels, int height, int width, int patch, const int* index, long n, void* dstp,
                     unsigned dt) {
  View<double> images(imagesp, dt, 0), dst(dstp, dt, 1);
  long per = (long)channels * patch * patch;
  int gw = width / patch, cells = (height / patch) * gw;
  GRID_LOOP(e, n * per) {
    long i = e / per, q = e % per;
    int idx = index[i], img = idx / cells, cell = idx % cells;
    int c = (int)(q / (patch * patch)), y = (int)(q / patch % patch), x = (int)(q % patch);
    dst.set(e, images[(((long)img * channels + c) * height + (long)(cell / gw) * patch + y) * width + (long)(cell % gw) * patch + x]);
  }
}
EMU_REGISTER(patchify)

// dst (B, C, plane) ← (pixels/255 − mean[c]) / std[c]; table = mean[0, C) then std[0, C)
template <typename A> __device__ void normalize_images_k(const unsigned char* pixels, long channels, long plane, long n,
                                                         const double* table, void* dstp, unsigned dt) {
  View<A> dst(dstp, dt, 0);
  GRID_LOOP(i, n) {
    long c = i / plane % channels;
    dst.set(i, ((A)pixels[i] / (A)255 - (A)table[c]) / (A)table[channels + c]);
  }
}
#define DEF(S, A) KERNEL void normalize_images_##S(const unsigned char* pixels, long channels, long plane, long n, const double* table, void* dst, unsigned dt) { normalize_images_k<A>(pixels, channels, plane, n, table, dst, dt); } EMU_REGISTER(normalize_images_##S)
ARITH(DEF)
#undef DEF

// linspace(i, m) = i/(m − 1), 0 when m = 1
template <typename A> __device__ __forceinline__ A linspace(long i, long m) { return m == 1 ? (A)0 : (A)i / (A)(m - 1); }

// coords (batch, R + T, 2): a block per sample; its patches' (row, col) on the grid, then its
// registers on the edges of the patches' bounding box (capi.engine.Backend#tokenCoordinates).
template <typename A> __device__ void token_coordinates_k(const int* index, long batch, long registers, long tokens, long gridH,
                                                          long gridW, void* coordsp, unsigned dt) {
  View<A> coords(coordsp, dt, 0);
  long cells = gridH * gridW, stride = registers + tokens, side = registers / 4;
  ROW_LOOP(b, batch) {
    A minY = INFINITY, maxY = -INFINITY, minX = INFINITY, maxX = -INFINITY;
    COL_LOOP(t, tokens) {
      long p = index[b * tokens + t] % cells;
      A y = linspace<A>(p / gridW, gridH), x = linspace<A>(p % gridW, gridW);
      long o = 2 * (b * stride + registers + t);
      coords.set(o, y);
      coords.set(o + 1, x);
      minY = k_min(minY, y);
      maxY = k_max(maxY, y);
      minX = k_min(minX, x);
      maxX = k_max(maxX, x);
    }
    minY = block_min(minY);
    maxY = block_max(maxY);
    minX = block_min(minX);
    maxX = block_max(maxX);
    COL_LOOP(i, registers) {
      long s = i / side;
      A c = (A)(i % side) / (A)side;
      A ey = s == 0 ? c : s == 1 ? (A)1 : s == 2 ? (A)1 - c : (A)0;
      A ex = s == 0 ? (A)0 : s == 1 ? c : s == 2 ? (A)1 : (A)1 - c;
      long o = 2 * (b * stride + i);
      coords.set(o, minY + ey * (maxY - minY));
      coords.set(o + 1, minX + ex * (maxX - minX));
    }
  }
}
#define DEF(S, A) KERNEL void token_coordinates_##S(const int* index, long batch, long registers, long tokens, long gridH, long gridW, void* coords, unsigned dt) { token_coordinates_k<A>(index, batch, registers, tokens, gridH, gridW, coords, dt); } EMU_REGISTER(token_coordinates_##S)
ARITH(DEF)
#undef DEF

// ---- normalisations -------------------------------------------------------------------------------

// y = x·rstd·w (w null: no weight), rstd[r] = 1/sqrt(mean(x_r²) + eps)
template <typename A> __device__ void rms_norm_k(const void* xp, const void* wp, long rows, long cols, double eps, void* yp,
                                                 void* rstdp, unsigned dt) {
  View<A> x(xp, dt, 0), w(wp, dt, 1), y(yp, dt, 2), rstd(rstdp, dt, 3);
  ROW_LOOP(r, rows) {
    A ss = 0;
    COL_LOOP(c, cols) ss += x[r * cols + c] * x[r * cols + c];
    ss = block_sum(ss);
    A inv = (A)1 / k_sqrt(ss / (A)cols + (A)eps);
    COL_LOOP(c, cols) y.set(r * cols + c, x[r * cols + c] * inv * (w.null() ? (A)1 : w[c]));
    if (threadIdx.x == 0) rstd.set(r, inv);
  }
}
#define DEF(S, A) KERNEL void rms_norm_##S(const void* x, const void* w, long rows, long cols, double eps, void* y, void* rstd, unsigned dt) { rms_norm_k<A>(x, w, rows, cols, eps, y, rstd, dt); } EMU_REGISTER(rms_norm_##S)
ARITH(DEF)
#undef DEF

// dx += dy·w·rstd − rstd³·(Σ dy·w·x)/cols·x
template <typename A> __device__ void rms_norm_backward_k(const void* xp, const void* wp, const void* rstdp, const void* dyp, long rows,
                                                          long cols, void* dxp, unsigned dt) {
  View<A> x(xp, dt, 0), w(wp, dt, 1), rstd(rstdp, dt, 2), dy(dyp, dt, 3), dx(dxp, dt, 4);
  ROW_LOOP(r, rows) {
    A dot = 0;
    COL_LOOP(c, cols) dot += dy[r * cols + c] * (w.null() ? (A)1 : w[c]) * x[r * cols + c];
    dot = block_sum(dot);
    A inv = rstd[r], k = inv * inv * inv * dot / (A)cols;
    COL_LOOP(c, cols) {
      long o = r * cols + c;
      dx.set(o, dx[o] + dy[o] * (w.null() ? (A)1 : w[c]) * inv - k * x[o]);
    }
  }
}
#define DEF(S, A) KERNEL void rms_norm_backward_##S(const void* x, const void* w, const void* rstd, const void* dy, long rows, long cols, void* dx, unsigned dt) { rms_norm_backward_k<A>(x, w, rstd, dy, rows, cols, dx, dt); } EMU_REGISTER(rms_norm_backward_##S)
ARITH(DEF)
#undef DEF

// partial[ch, c] ← Σ_{r in chunk ch} dy[r, c]·x[r, c]·rstd[r] (the gain's gradient, finished by add_partials)
template <typename A> __device__ void rms_norm_dw_partial_k(const void* xp, const void* rstdp, const void* dyp, long rows, long cols,
                                                            long rowsPerChunk, A* partial, unsigned dt) {
  View<A> x(xp, dt, 0), rstd(rstdp, dt, 1), dy(dyp, dt, 2);
  long chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
  GRID_LOOP(i, chunks * cols) {
    long ch = i / cols, c = i % cols, end = (ch + 1) * rowsPerChunk < rows ? (ch + 1) * rowsPerChunk : rows;
    A s = 0;
    for (long r = ch * rowsPerChunk; r < end; r++) s += dy[r * cols + c] * x[r * cols + c] * rstd[r];
    partial[i] = s;
  }
}
#define DEF(S, A) KERNEL void rms_norm_dw_partial_##S(const void* x, const void* rstd, const void* dy, long rows, long cols, long rowsPerChunk, A* partial, unsigned dt) { rms_norm_dw_partial_k<A>(x, rstd, dy, rows, cols, rowsPerChunk, partial, dt); } EMU_REGISTER(rms_norm_dw_partial_##S)
ARITH(DEF)
#undef DEF

// y = x / max(‖x_r‖, eps); norm[r] = ‖x_r‖
template <typename A> __device__ void l2_normalize_k(const void* xp, long rows, long cols, double eps, void* yp, void* normp, unsigned dt) {
  View<A> x(xp, dt, 0), y(yp, dt, 1), norm(normp, dt, 2);
  ROW_LOOP(r, rows) {
    A ss = 0;
    COL_LOOP(c, cols) ss += x[r * cols + c] * x[r * cols + c];
    A n = k_sqrt(block_sum(ss)), inv = (A)1 / k_max(n, (A)eps);
    COL_LOOP(c, cols) y.set(r * cols + c, x[r * cols + c] * inv);
    if (threadIdx.x == 0) norm.set(r, n);
  }
}
#define DEF(S, A) KERNEL void l2_normalize_##S(const void* x, long rows, long cols, double eps, void* y, void* norm, unsigned dt) { l2_normalize_k<A>(x, rows, cols, eps, y, norm, dt); } EMU_REGISTER(l2_normalize_##S)
ARITH(DEF)
#undef DEF

// dx ← (dy − y·(y·dy))/‖x‖ when ‖x‖ > eps, else dy/eps
template <typename A> __device__ void l2_normalize_backward_k(const void* yp, const void* normp, const void* dyp, long rows, long cols,
                                                              double eps, void* dxp, unsigned dt) {
  View<A> y(yp, dt, 0), norm(normp, dt, 1), dy(dyp, dt, 2), dx(dxp, dt, 3);
  ROW_LOOP(r, rows) {
    A dot = 0;
    COL_LOOP(c, cols) dot += y[r * cols + c] * dy[r * cols + c];
    dot = block_sum(dot);
    A n = norm[r];
    COL_LOOP(c, cols) {
      long o = r * cols + c;
      dx.set(o, n > (A)eps ? (dy[o] - y[o] * dot) / n : dy[o] / (A)eps);
    }
  }
}
#define DEF(S, A) KERNEL void l2_normalize_backward_##S(const void* y, const void* norm, const void* dy, long rows, long cols, double eps, void* dx, unsigned dt) { l2_normalize_backward_k<A>(y, norm, dy, rows, cols, eps, dx, dt); } EMU_REGISTER(l2_normalize_backward_##S)
ARITH(DEF)
#undef DEF

// w = g[r]·v / (‖v_r‖ + 1e-8); norms[r] = ‖v_r‖
template <typename A> __device__ void weight_norm_k(const void* vp, const void* gp, long rows, long cols, void* wp, void* normsp,
                                                    unsigned dt) {
  View<A> v(vp, dt, 0), g(gp, dt, 1), w(wp, dt, 2), norms(normsp, dt, 3);
  ROW_LOOP(r, rows) {
    A ss = 0;
    COL_LOOP(c, cols) ss += v[r * cols + c] * v[r * cols + c];
    A n = k_sqrt(block_sum(ss)), k = g[r] / (n + (A)1e-8);
    COL_LOOP(c, cols) w.set(r * cols + c, v[r * cols + c] * k);
    if (threadIdx.x == 0) norms.set(r, n);
  }
}
#define DEF(S, A) KERNEL void weight_norm_##S(const void* v, const void* g, long rows, long cols, void* w, void* norms, unsigned dt) { weight_norm_k<A>(v, g, rows, cols, w, norms, dt); } EMU_REGISTER(weight_norm_##S)
ARITH(DEF)
#undef DEF

// dg[r] += (dw·v)/(n + 1e-8); dv += g/(n + 1e-8)·dw − g·(dw·v)/((n + 1e-8)²·n)·v
template <typename A> __device__ void weight_norm_backward_k(const void* vp, const void* gp, const void* normsp, const void* dwp,
                                                             long rows, long cols, void* dvp, void* dgp, unsigned dt) {
  View<A> v(vp, dt, 0), g(gp, dt, 1), norms(normsp, dt, 2), dw(dwp, dt, 3), dv(dvp, dt, 4), dg(dgp, dt, 5);
  ROW_LOOP(r, rows) {
    A dot = 0;
    COL_LOOP(c, cols) dot += dw[r * cols + c] * v[r * cols + c];
    dot = block_sum(dot);
    A n = norms[r], den = n + (A)1e-8, gr = g[r], k = n > 0 ? gr * dot / (den * den * n) : (A)0;
    COL_LOOP(c, cols) {
      long o = r * cols + c;
      dv.set(o, dv[o] + gr / den * dw[o] - k * v[o]);
    }
    if (threadIdx.x == 0) dg.set(r, dg[r] + dot / den);
  }
}
#define DEF(S, A) KERNEL void weight_norm_backward_##S(const void* v, const void* g, const void* norms, const void* dw, long rows, long cols, void* dv, void* dg, unsigned dt) { weight_norm_backward_k<A>(v, g, norms, dw, rows, cols, dv, dg, dt); } EMU_REGISTER(weight_norm_backward_##S)
ARITH(DEF)
#undef DEF

// ---- activations and RoPE ---------------------------------------------------------------------------

// y = 0.5·x·(1 + erf(x/√2)), the exact GELU
template <typename A> __device__ void gelu_k(const void* xp, void* yp, long n, unsigned dt) {
  View<A> x(xp, dt, 0), y(yp, dt, 1);
  GRID_LOOP(i, n) {
    A v = x[i];
    y.set(i, (A)0.5 * v * ((A)1 + k_erf(v * (A)0.70710678118654752440)));
  }
}
#define DEF(S, A) KERNEL void gelu_##S(const void* x, void* y, long n, unsigned dt) { gelu_k<A>(x, y, n, dt); } EMU_REGISTER(gelu_##S)
ARITH(DEF)
#undef DEF

// dx ← dy·(Φ(x) + x·φ(x)) (dx may be dy)
template <typename A> __device__ void gelu_backward_k(const void* xp, const void* dyp, void* dxp, long n, unsigned dt) {
  View<A> x(xp, dt, 0), dy(dyp, dt, 1), dx(dxp, dt, 2);
  GRID_LOOP(i, n) {
    A v = x[i];
    A cdf = (A)0.5 * ((A)1 + k_erf(v * (A)0.70710678118654752440));
    A pdf = (A)0.39894228040143267794 * k_exp((A)-0.5 * v * v);
    dx.set(i, dy[i] * (cdf + v * pdf));
  }
}
#define DEF(S, A) KERNEL void gelu_backward_##S(const void* x, const void* dy, void* dx, long n, unsigned dt) { gelu_backward_k<A>(x, dy, dx, n, dt); } EMU_REGISTER(gelu_backward_##S)
ARITH(DEF)
#undef DEF

// cos/sin[r, c] of angle coords[r, 0]·freqs[0, c] + coords[r, 1]·freqs[1, c], in float64 whatever the storage
KERNEL void rope_tables(const void* coordsp, const void* freqsp, long rows, int headDim, void* cosp, void* sinp, unsigned dt) {
  View<double> coords(coordsp, dt, 0), freqs(freqsp, dt, 1), cosT(cosp, dt, 2), sinT(sinp, dt, 3);
  GRID_LOOP(e, rows * headDim) {
    long r = e / headDim;
    int c = (int)(e % headDim);
    double a = coords[2 * r] * freqs[c] + coords[2 * r + 1] * freqs[headDim + c];
    cosT.set(e, cos(a));
    sinT.set(e, sin(a));
  }
}
EMU_REGISTER(rope_tables)

// Rows r of x (stride ld, heads of headDim), table row r % tableRows; per head, pairs (k, k + d/2):
// x1' = x1·cos_k − x2·sin_k, x2' = x2·cos_{k+h} + x1·sin_{k+h}; transposed for the backward.
template <typename A> __device__ void rope_k(void* xp, long ld, long rows, int heads, int headDim, const void* cosp, const void* sinp,
                                             long tableRows, int transpose, unsigned dt) {
  View<A> x(xp, dt, 0), cosT(cosp, dt, 1), sinT(sinp, dt, 2);
  int half = headDim / 2;
  GRID_LOOP(e, rows * heads * half) {
    long r = e / ((long)heads * half);
    int h = (int)(e / half % heads), k = (int)(e % half);
    long o = r * ld + (long)h * headDim + k, t = (r % tableRows) * headDim + k;
    A x1 = x[o], x2 = x[o + half];
    A c1 = cosT[t], c2 = cosT[t + half], s1 = sinT[t], s2 = sinT[t + half];
    if (!transpose) {
      x.set(o, x1 * c1 - x2 * s1);
      x.set(o + half, x2 * c2 + x1 * s2);
    } else {
      x.set(o, x1 * c1 + x2 * s2);
      x.set(o + half, x2 * c2 - x1 * s1);
    }
  }
}
#define DEF(S, A) KERNEL void rope_##S(void* x, long ld, long rows, int heads, int headDim, const void* cosT, const void* sinT, long tableRows, int transpose, unsigned dt) { rope_k<A>(x, ld, rows, heads, headDim, cosT, sinT, tableRows, transpose, dt); } EMU_REGISTER(rope_##S)
ARITH(DEF)
#undef DEF

// ---- attention (between the batched products of capi.cuda.CudaAttention) ----------------------------

// Each row of s (the scaled scores) ← its softmax, in place; copy (null: none) ← the same rounded to
// its storage (the bf16 probabilities of the P·V product).
template <typename A> __device__ void softmax_rows_k(void* sp, long rows, long cols, void* copyp, unsigned dt) {
  View<A> s(sp, dt, 0), copy(copyp, dt, 1);
  ROW_LOOP(r, rows) {
    A m = neg_inf<A>();
    COL_LOOP(c, cols) m = k_max(m, s[r * cols + c]);
    m = block_max(m);
    A sum = 0;
    COL_LOOP(c, cols) sum += k_exp(s[r * cols + c] - m);
    A inv = (A)1 / block_sum(sum);
    COL_LOOP(c, cols) {
      long o = r * cols + c;
      A p = k_exp(s[o] - m) * inv;
      s.set(o, p);
      if (!copy.null()) copy.set(o, p);
    }
  }
}
#define DEF(S, A) KERNEL void softmax_rows_##S(void* s, long rows, long cols, void* copy, unsigned dt) { softmax_rows_k<A>(s, rows, cols, copy, dt); } EMU_REGISTER(softmax_rows_##S)
ARITH(DEF)
#undef DEF

// ds ← scale·p ⊙ (dp − Σ_row p·dp) (ds may be dp)
template <typename A> __device__ void softmax_rows_backward_k(const void* pp, const void* dpp, long rows, long cols, double scale,
                                                              void* dsp, unsigned dt) {
  View<A> p(pp, dt, 0), dp(dpp, dt, 1), ds(dsp, dt, 2);
  ROW_LOOP(r, rows) {
    A dot = 0;
    COL_LOOP(c, cols) dot += p[r * cols + c] * dp[r * cols + c];
    dot = block_sum(dot);
    COL_LOOP(c, cols) {
      long o = r * cols + c;
      ds.set(o, (A)scale * p[o] * (dp[o] - dot));
    }
  }
}
#define DEF(S, A) KERNEL void softmax_rows_backward_##S(const void* p, const void* dp, long rows, long cols, double scale, void* ds, unsigned dt) { softmax_rows_backward_k<A>(p, dp, rows, cols, scale, ds, dt); } EMU_REGISTER(softmax_rows_backward_##S)
ARITH(DEF)
#undef DEF

// ---- losses ---------------------------------------------------------------------------------------

// loss[r] ← −Σ_c t·log softmax(z/temp) (float64); dz (if not null) ← gradScale·(softmax(z/temp) − t)/temp
template <typename A> __device__ void soft_target_ce_k(const void* zp, const void* tp, long rows, long cols, double temp, void* dzp,
                                                       double gradScale, double* loss, unsigned dt) {
  View<A> z(zp, dt, 0), t(tp, dt, 1), dz(dzp, dt, 2);
  A invTemp = (A)(1 / temp);
  ROW_LOOP(r, rows) {
    A m = neg_inf<A>();
    COL_LOOP(c, cols) m = k_max(m, z[r * cols + c] * invTemp);
    m = block_max(m);
    A s = 0, dot = 0, mass = 0;
    COL_LOOP(c, cols) {
      A u = z[r * cols + c] * invTemp - m, q = t[r * cols + c];
      s += k_exp(u);
      dot += q * u;
      mass += q;
    }
    s = block_sum(s);
    dot = block_sum(dot);
    mass = block_sum(mass);
    if (threadIdx.x == 0) loss[r] = (double)mass * (double)k_log(s) - (double)dot;
    if (!dz.null()) {
      A k = (A)(gradScale / temp), inv = (A)1 / s;
      COL_LOOP(c, cols) {
        long o = r * cols + c;
        dz.set(o, k * (k_exp(z[o] * invTemp - m) * inv - t[o]));
      }
    }
  }
}
#define DEF(S, A) KERNEL void soft_target_ce_##S(const void* z, const void* t, long rows, long cols, double temp, void* dz, double gradScale, double* loss, unsigned dt) { soft_target_ce_k<A>(z, t, rows, cols, temp, dz, gradScale, loss, dt); } EMU_REGISTER(soft_target_ce_##S)
ARITH(DEF)
#undef DEF

// out[r] ← −Σ_c p·log p (0·log 0 = 0), float64
template <typename A> __device__ void entropy_rows_k(const void* pp, long rows, long cols, double* out, unsigned dt) {
  View<A> p(pp, dt, 0);
  ROW_LOOP(r, rows) {
    A h = 0;
    COL_LOOP(c, cols) {
      A v = p[r * cols + c];
      if (v > 0) h -= v * k_log(v);
    }
    h = block_sum(h);
    if (threadIdx.x == 0) out[r] = (double)h;
  }
}
#define DEF(S, A) KERNEL void entropy_rows_##S(const void* p, long rows, long cols, double* out, unsigned dt) { entropy_rows_k<A>(p, rows, cols, out, dt); } EMU_REGISTER(entropy_rows_##S)
ARITH(DEF)
#undef DEF

// ---- Sinkhorn-Knopp over (problems, samples, cols) -------------------------------------------------

// out[p, k] ← max (isMax) or Σ over samples of x[p, s, k]: a thread per (p, k), samples in order
template <typename A> __device__ void column_reduce_k(const void* xp, long problems, long samples, long cols, void* outp, int isMax,
                                                      unsigned dt) {
  View<A> x(xp, dt, 0), out(outp, dt, 1);
  GRID_LOOP(i, problems * cols) {
    long p = i / cols, k = i % cols, first = p * samples * cols + k;
    A acc = isMax ? neg_inf<A>() : (A)0;
    for (long s = 0; s < samples; s++) acc = isMax ? k_max(acc, x[first + s * cols]) : acc + x[first + s * cols];
    out.set(i, acc);
  }
}
#define DEF(S, A) KERNEL void column_reduce_##S(const void* x, long problems, long samples, long cols, void* out, int isMax, unsigned dt) { column_reduce_k<A>(x, problems, samples, cols, out, isMax, dt); } EMU_REGISTER(column_reduce_##S)
ARITH(DEF)
#undef DEF

// y[p, s, k] ← exp(scale·(x[p, s, k] − shift[p, k]) + offset) and colsum[p, k] ← Σ_s y[p, s, k] (as
// stored): a thread per (p, k), samples in order (y may be x)
template <typename A> __device__ void exp_shifted_k(const void* xp, const void* shiftp, long problems, long samples, long cols,
                                                    double scale, double offset, void* yp, void* colsump, unsigned dt) {
  View<A> x(xp, dt, 0), shift(shiftp, dt, 1), y(yp, dt, 2), colsum(colsump, dt, 3);
  GRID_LOOP(i, problems * cols) {
    long p = i / cols, k = i % cols, first = p * samples * cols + k;
    A sh = shift[i], sum = 0;
    for (long s = 0; s < samples; s++) {
      long o = first + s * cols;
      A e = y.stored(k_exp((A)scale * (x[o] - sh) + (A)offset));
      y.set(o, e);
      sum += e;
    }
    colsum.set(i, sum);
  }
}
#define DEF(S, A) KERNEL void exp_shifted_##S(const void* x, const void* shift, long problems, long samples, long cols, double scale, double offset, void* y, void* colsum, unsigned dt) { exp_shifted_k<A>(x, shift, problems, samples, cols, scale, offset, y, colsum, dt); } EMU_REGISTER(exp_shifted_##S)
ARITH(DEF)
#undef DEF

// Column step then row step of one Sinkhorn iteration: a block per row (p, s).
template <typename A> __device__ void sinkhorn_rows_k(void* xp, const void* colsump, long problems, long samples, long cols, double eps,
                                                      unsigned dt) {
  View<A> x(xp, dt, 0), colsum(colsump, dt, 1);
  ROW_LOOP(r, problems * samples) {
    long cs = (r / samples) * cols;
    A s = 0;
    COL_LOOP(c, cols) {
      A v = x.stored(x[r * cols + c] / (colsum[cs + c] + (A)eps));
      x.set(r * cols + c, v);
      s += v;
    }
    A inv = (A)1 / (block_sum(s) + (A)eps);
    COL_LOOP(c, cols) x.set(r * cols + c, x[r * cols + c] * inv);
  }
}
#define DEF(S, A) KERNEL void sinkhorn_rows_##S(void* x, const void* colsum, long problems, long samples, long cols, double eps, unsigned dt) { sinkhorn_rows_k<A>(x, colsum, problems, samples, cols, eps, dt); } EMU_REGISTER(sinkhorn_rows_##S)
ARITH(DEF)
#undef DEF

// ---- optimisation -----------------------------------------------------------------------------------

// PyTorch AdamW over segments, then the teacher's EMA, in one pass over [0, max(seg[nseg], tlen)).
// table (8-byte slots): seg[0 .. nseg] (longs), lr[nseg], wd[nseg], then β1, β2, eps, 1 − β1^t,
// sqrt(1 − β2^t), momentum (doubles). Element i: if seg[s] <= i < seg[s + 1], AdamW with lr[s], wd[s];
// then if i < tlen, teacher[i] ← p[i] + momentum·(teacher[i] − p[i]) with the updated p.
template <typename A> __device__ void adamw_k(void* pp, const void* gp, void* mp, void* vp, void* teacherp, long tlen,
                                              const long long* table, int nseg, unsigned dt) {
  View<A> p(pp, dt, 0), g(gp, dt, 1), m(mp, dt, 2), v(vp, dt, 3), teacher(teacherp, dt, 4);
  const long long* seg = table;
  const double* lr = (const double*)(table + nseg + 1);
  const double* wd = lr + nseg;
  const double* h = wd + nseg;
  double beta1 = h[0], beta2 = h[1], eps = h[2], bc1 = h[3], bc2sqrt = h[4], momentum = h[5];
  long first = seg[0], last = seg[nseg], end = last > tlen ? last : tlen;
  GRID_LOOP(i, end) {
    A pi = p[i];
    if (i >= first && i < last) {
      int lo = 0, hi = nseg - 1; // the segment s with seg[s] <= i < seg[s + 1]
      while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (seg[mid] <= i) lo = mid;
        else hi = mid - 1;
      }
      A gi = g[i];
      A mi = m.stored((A)beta1 * m[i] + (A)(1 - beta1) * gi);
      A vi = v.stored((A)beta2 * v[i] + (A)(1 - beta2) * gi * gi);
      pi = p.stored(p.stored(pi * (A)(1 - lr[lo] * wd[lo])) - (A)(lr[lo] / bc1) * mi / (k_sqrt(vi) / (A)bc2sqrt + (A)eps));
      m.set(i, mi);
      v.set(i, vi);
      p.set(i, pi);
    }
    if (i < tlen) teacher.set(i, pi + (A)momentum * (teacher[i] - pi));
  }
}
#define DEF(S, A) KERNEL void adamw_##S(void* p, const void* g, void* m, void* v, void* teacher, long tlen, const long long* table, int nseg, unsigned dt) { adamw_k<A>(p, g, m, v, teacher, tlen, table, nseg, dt); } EMU_REGISTER(adamw_##S)
ARITH(DEF)
#undef DEF
