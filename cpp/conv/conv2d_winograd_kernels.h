// The Winograd F(2x2, 3x3) and F(4x4, 3x3) kernels (see conv2d_winograd.h), compiled once per instruction set:
// conv2d_winograd.cpp (portable), conv2d_winograd_avx2.cpp and conv2d_winograd_avx512.cpp include
// this file, and GCC lowers the 16-float vectors of the transforms to 4 SSE, 2 AVX2 or 1 AVX-512
// register (the portable build spent as long in the transforms as in the GEMMs). Internal
// linkage keeps the per-ISA copies apart; conv2d_winograd.cpp picks one at run time.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/scratch.h"
#include "conv/conv2d_winograd.h"
#include "gemm/gemm.h"

namespace shendu {

namespace winograd {

struct Kernels {
  // Rows [i0, i1) of every ci x co position of u (T * T positions, winograd_plane apart) from w:
  // the forward's filters of the layer s (ci = s.c, co = s.f).
  void (*filters)(const Conv2dShape& s, const float* w, int tile, int64_t i0, int64_t i1,
                  float* u);
  bool (*conv)(const WinogradGeometry& g, const float* in, const float* u, const float* b,
               int64_t n0, int64_t n1, float* out);
  bool (*backward)(const WinogradGeometry& g, const float* x, const float* dy, const float* u,
                   int64_t n0, int64_t n1, float* dx, float* dw, float* db);
};

const Kernels& kernels_generic();  // conv2d_winograd.cpp
const Kernels& kernels_avx2();     // conv2d_winograd_avx2.cpp
const Kernels& kernels_avx512();   // conv2d_winograd_avx512.cpp

}  // namespace winograd

// The vector helpers pass 64-byte vectors by value; they have internal linkage and are inlined, so
// the ABI difference GCC warns about for non-AVX-512 builds never crosses a call boundary.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
namespace winograd {
namespace {

// The transforms run over channels (contiguous in NHWC) 16 at a time.
constexpr int64_t kLanes = 16;
typedef float V __attribute__((vector_size(kLanes * sizeof(float))));

// Transformed tiles of one chunk (floats): 1 MiB keeps a chunk in L2 from its input transform
// through the T * T GEMMs to its output transform. The forward's chunks are smaller, 256 KiB (18
// F(4x4) tiles of 32 -> 64 channels), which keeps more of them in L2; not the backward's, whose dw
// GEMMs sum over a chunk's tiles (fewer tiles, more passes over their C x F results).
constexpr int64_t kWorkspaceFloats = int64_t{1} << 18;
constexpr int64_t kForwardChunkFloats = int64_t{1} << 16;

// Per calling thread and reused across calls, like the im2col workspace (conv2d.cpp). One buffer
// per ISA copy; only the active one grows.
float* workspace(int64_t floats) {
  thread_local std::vector<float> buffer;
  return line_aligned(buffer, floats);
}

// The first n (<= kLanes) floats at p, zeros after; the full width is a constant-size copy.
inline V load_n(const float* p, int64_t n) {
  V v = {};
  if (n == kLanes)
    std::memcpy(&v, p, sizeof v);
  else
    std::memcpy(&v, p, sizeof(float) * n);
  return v;
}

inline void store_n(float* p, V v, int64_t n) {
  if (n == kLanes)
    std::memcpy(p, &v, sizeof v);
  else
    std::memcpy(p, &v, sizeof(float) * n);
}

// *acc += v[0] + ... + v[N - 1], summed in pairs: the non-finite checks below sum the values they
// check, and a chain of one add per value (or a sum kept in memory) made them the slowest part of
// the output transform.
template <int N>
inline void add_sum(const V* v, V* acc) {
  V s[N];
  for (int i = 0; i < N; ++i) s[i] = v[i];
  for (int step = 1; step < N; step *= 2)
    for (int i = 0; i + step < N; i += 2 * step) s[i] += s[i + step];
  *acc += s[0];
}

// True when every lane of sum is finite: a sum holds a NaN or an infinity when one of its terms
// does (or when finite terms overflow, which costs the caller only a redo under F(2x2)).
inline bool finite(V sum) {
  const V zero = sum * 0.0f;  // 0 for finite lanes, NaN for the others
  for (int64_t l = 0; l < kLanes; ++l)
    if (zero[l] != 0.0f) return false;
  return true;
}

// The 1-D transforms, applied to the rows and then the columns of a tile. Transforms<M> holds
// those of F(M, 3), M outputs from T = M + 2 inputs (Lavin & Gray's matrices):
// input        B^T d   (T -> T)
// output       A^T m   (T -> M)
// filter       G g     (3 -> T)
// and those of the transposed F(M, 3): for dx (the gradient of d)
// input_transposed  B m   (T -> T)
// and for dw, F(3, M) (B^T d as above for the input, then):
// dy           A e     (the M dy values of a tile row -> T, also dx's)
// filter_grad  G^T m   (T -> 3)
template <int M>
struct Transforms;

template <>
struct Transforms<2> {
  static constexpr int T = 4;
  static void input(const V d[4], V out[4]) {
    out[0] = d[0] - d[2];
    out[1] = d[1] + d[2];
    out[2] = d[2] - d[1];
    out[3] = d[1] - d[3];
  }
  static void output(const V m[4], V out[2]) {
    out[0] = m[0] + m[1] + m[2];
    out[1] = m[1] - m[2] - m[3];
  }
  static void filter(const V g[3], V out[4]) {
    out[0] = g[0];
    out[1] = 0.5f * (g[0] + g[1] + g[2]);
    out[2] = 0.5f * (g[0] - g[1] + g[2]);
    out[3] = g[2];
  }
  static void input_transposed(const V m[4], V out[4]) {
    out[0] = m[0];
    out[1] = m[1] - m[2] + m[3];
    out[2] = m[1] + m[2] - m[0];
    out[3] = -m[3];
  }
  static void dy(const V e[2], V out[4]) {
    out[0] = e[0];
    out[1] = e[0] + e[1];
    out[2] = e[0] - e[1];
    out[3] = -e[1];
  }
  static void filter_grad(const V m[4], V out[3]) {
    const V half = 0.5f * (m[1] + m[2]);
    out[0] = m[0] + half;
    out[1] = 0.5f * (m[1] - m[2]);
    out[2] = half + m[3];
  }
};

// Interpolation points 0, +-1, +-2 and infinity. Output j weighs the products at +-1 and +-2 by
// (+-1)^j and (+-2)^j: an input cell outside an output's window still enters the positions it
// reads and cancels only in exact arithmetic, so unlike F(2, 3) a non-finite input spreads past
// its windows (see conv2d_winograd.h).
template <>
struct Transforms<4> {
  static constexpr int T = 6;
  static void input(const V d[6], V out[6]) {
    const V a = d[4] - d[2], b = d[3] - d[1];
    out[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    out[1] = d[3] + d[4] - 4.0f * (d[1] + d[2]);
    out[2] = d[4] - d[3] + 4.0f * (d[1] - d[2]);
    out[3] = a + 2.0f * b;
    out[4] = a - 2.0f * b;
    out[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
  }
  static void output(const V m[6], V out[4]) {
    const V p1 = m[1] + m[2], n1 = m[1] - m[2], p2 = m[3] + m[4], n2 = m[3] - m[4];
    out[0] = m[0] + p1 + p2;
    out[1] = n1 + 2.0f * n2;
    out[2] = p1 + 4.0f * p2;
    out[3] = n1 + 8.0f * n2 + m[5];
  }
  static void filter(const V g[3], V out[6]) {
    const V even = g[0] + g[2], quarter = 0.25f * g[0] + g[2];
    out[0] = 0.25f * g[0];
    out[1] = (-1.0f / 6) * (even + g[1]);
    out[2] = (-1.0f / 6) * (even - g[1]);
    out[3] = (1.0f / 6) * (quarter + 0.5f * g[1]);
    out[4] = (1.0f / 6) * (quarter - 0.5f * g[1]);
    out[5] = g[2];
  }
  static void input_transposed(const V m[6], V out[6]) {
    const V p = m[1] + m[2], n = m[1] - m[2], p2 = m[3] + m[4], n2 = m[3] - m[4];
    out[0] = 4.0f * m[0];
    out[1] = 4.0f * (m[5] - n) - 2.0f * n2;
    out[2] = -5.0f * m[0] - 4.0f * p - p2;
    out[3] = n + 2.0f * n2 - 5.0f * m[5];
    out[4] = m[0] + p + p2;
    out[5] = m[5];
  }
  static void dy(const V e[4], V out[6]) {
    const V p = e[0] + e[2], n = e[1] + e[3];
    const V p2 = e[0] + 4.0f * e[2], n2 = 2.0f * e[1] + 8.0f * e[3];
    out[0] = e[0];
    out[1] = p + n;
    out[2] = p - n;
    out[3] = p2 + n2;
    out[4] = p2 - n2;
    out[5] = e[3];
  }
  static void filter_grad(const V m[6], V out[3]) {
    const V p1 = m[1] + m[2], n1 = m[1] - m[2], p2 = m[3] + m[4], n2 = m[3] - m[4];
    out[0] = 0.25f * m[0] - (1.0f / 6) * p1 + (1.0f / 24) * p2;
    out[1] = (1.0f / 12) * n2 - (1.0f / 6) * n1;
    out[2] = (1.0f / 6) * (p2 - p1) + m[5];
  }
};

// Tiles of M x M outputs are counted over the whole batch: tile t is image t / per_image, and
// within it row-major over the (out_h / M) x (out_w / M) grid, rounded up.
template <int M>
struct Tiling {
  int64_t h, w;
  explicit Tiling(const WinogradGeometry& g) : h((g.out_h + M - 1) / M), w((g.out_w + M - 1) / M) {}
  int64_t per_image() const { return h * w; }
  int64_t image(int64_t t) const { return t / per_image(); }
  int64_t row(int64_t t) const { return t % per_image() / w * M; }  // of its top-left output
  int64_t col(int64_t t) const { return t % per_image() % w * M; }
};

// n floats of zeros (per calling thread), read in place of the cells outside the image, so every
// load of a tile transform is unconditional, and the full 16-channel blocks are compiled for a
// constant width (the *_block templates): no branch per load, no run-time widths.
const float* zeros(int64_t n) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(static_cast<size_t>(n), 0.0f);
  return buffer.data();
}

// Tr (In points -> Out points) along both axes of one In x In tile, for channels [c0, c0 + n):
// dst[(p * Out + q) * plane + c]. Full: n == kLanes, a constant the loads and stores compile to
// single vector moves with. (B^T d B of an input tile, A e A^T of a dy tile.)
template <int In, int Out, void (*Tr)(const V*, V*), bool Full>
inline void transform_tile(const float* const src[In][In], int64_t c0, int64_t n, float* dst,
                           int64_t plane) {
  V rows[Out][In];  // Tr along the tile's columns: rows[p][j] for tile column j
  for (int j = 0; j < In; ++j) {
    V d[In], r[Out];
    for (int i = 0; i < In; ++i) d[i] = load_n(src[i][j] + c0, Full ? kLanes : n);
    Tr(d, r);
    for (int p = 0; p < Out; ++p) rows[p][j] = r[p];
  }
  for (int p = 0; p < Out; ++p) {
    V out[Out];
    Tr(rows[p], out);
    for (int q = 0; q < Out; ++q)
      store_n(dst + (p * Out + q) * plane + c0, out[q], Full ? kLanes : n);
  }
}

// v[t * tile_stride + p * plane + c] for positions p < T * T of tiles [t0, t0 + count): B^T d B
// of each T x T input tile, zeros for the cells outside the image. Position-major (tile_stride =
// ci, plane = count * ci) or tile-major (tile_stride = T * T * ci, plane = ci): see conv_tiled.
template <int M>
void transform_input(const WinogradGeometry& g, const float* in, int64_t t0, int64_t count,
                     int64_t tile_stride, int64_t plane, float* v) {
  constexpr int T = M + 2;
  const Tiling<M> tiles(g);
  const int64_t C = g.ci, full = C / kLanes * kLanes;
  const float* zero = zeros(C);
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = t0 + t, n = tiles.image(tile);
    const int64_t ih0 = tiles.row(tile) - g.pad_h, iw0 = tiles.col(tile) - g.pad_w;
    const float* src[T][T];
    for (int i = 0; i < T; ++i)
      for (int j = 0; j < T; ++j) {
        const int64_t ih = ih0 + i, iw = iw0 + j;
        const bool inside = ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w;
        src[i][j] = inside ? in + ((n * g.in_h + ih) * g.in_w + iw) * C : zero;
      }
    float* dst = v + t * tile_stride;
    for (int64_t c0 = 0; c0 < full; c0 += kLanes)
      transform_tile<T, T, Transforms<M>::input, true>(src, c0, kLanes, dst, plane);
    if (full < C)
      transform_tile<T, T, Transforms<M>::input, false>(src, full, C - full, dst, plane);
  }
}

// A^T m A (+ bias) of filters [f0, f0 + n) of one tile; only its rows_in x cols_in cells, which
// lie row_floats apart (rows) and F apart (columns) from dst, are stored (Full: n == kLanes, as
// transform_tile). Under F(4x4), adds the bias and the block's outputs before it to *sum_to (for
// finite()), once at the end: the sum stays in a register until then.
template <int M, bool Full>
inline void output_block(const float* src, const float* b, int64_t f0, int64_t n, int64_t plane,
                         int rows_in, int cols_in, float* dst, int64_t row_floats, int64_t F,
                         V* sum_to) {
  constexpr int T = M + 2;
  const int64_t w = Full ? kLanes : n;
  const V bias = b ? load_n(b + f0, w) : V{};
  V cols[M][T];  // A^T m: cols[i][q] for transformed column q
  for (int q = 0; q < T; ++q) {
    V col[T], r[M];
    for (int p = 0; p < T; ++p) col[p] = load_n(src + (p * T + q) * plane + f0, w);
    Transforms<M>::output(col, r);
    for (int i = 0; i < M; ++i) cols[i][q] = r[i];
  }
  V sum = M > 2 ? bias : V{};
  for (int i = 0; i < rows_in; ++i) {
    V y[M];
    Transforms<M>::output(cols[i], y);
    if (M > 2) add_sum<M>(y, &sum);
    for (int j = 0; j < cols_in; ++j) store_n(dst + i * row_floats + j * F + f0, y[j] + bias, w);
  }
  if (M > 2) *sum_to += sum;
}

// out (+ b) for tiles [t0, t0 + count) from m[(t * T * T + p) * co + f] (tile-major, see
// conv_tiled): A^T m A of each tile, the cells past the bottom/right edge dropped. Under F(4x4),
// false when an output is NaN or infinite (see conv2d_winograd.h; the rows of a tile past the
// bottom edge are checked too, harmlessly: finite inputs give them finite values); under F(2x2),
// true.
template <int M>
bool transform_output(const WinogradGeometry& g, const float* m, const float* b, int64_t t0,
                      int64_t count, float* out) {
  const Tiling<M> tiles(g);
  constexpr int64_t P = (M + 2) * (M + 2);
  const int64_t F = g.co, plane = F, full = F / kLanes * kLanes;
  V sum = {};
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = t0 + t, n = tiles.image(tile);
    const int64_t oh0 = tiles.row(tile), ow0 = tiles.col(tile);
    const int rows_in = static_cast<int>(std::min<int64_t>(M, g.out_h - oh0));
    const int cols_in = static_cast<int>(std::min<int64_t>(M, g.out_w - ow0));
    const float* src = m + t * P * F;
    float* dst = out + ((n * g.out_h + oh0) * g.out_w + ow0) * F;
    for (int64_t f0 = 0; f0 < full; f0 += kLanes)
      output_block<M, true>(src, b, f0, kLanes, plane, rows_in, cols_in, dst, g.out_w * F, F,
                            &sum);
    if (full < F)
      output_block<M, false>(src, b, full, F - full, plane, rows_in, cols_in, dst, g.out_w * F,
                             F, &sum);
  }
  return finite(sum);
}

// dx += B m B^T for channels [c0, c0 + n) of one tile, at its cells [i0, i1) x [j0, j1) (the
// others lie outside the image): cell (i, j) is dx[origin + i * row_floats + j * C] (origin may be
// negative: the index is formed before the pointer). Cells from row fresh_i and column fresh_j on
// have no earlier tile and are stored instead (so dx needs no zeroing first). Full: n == kLanes,
// as transform_tile.
template <int M, bool Full>
inline void input_grad_block(const float* src, int64_t c0, int64_t n, int64_t plane, int i0,
                             int i1, int j0, int j1, int fresh_i, int fresh_j, float* dx,
                             int64_t origin, int64_t row_floats, int64_t C) {
  constexpr int T = M + 2;
  const int64_t w = Full ? kLanes : n;
  V cols[T][T];  // B m: cols[i][q] for transformed column q
  for (int q = 0; q < T; ++q) {
    V col[T], r[T];
    for (int p = 0; p < T; ++p) col[p] = load_n(src + (p * T + q) * plane + c0, w);
    Transforms<M>::input_transposed(col, r);
    for (int i = 0; i < T; ++i) cols[i][q] = r[i];
  }
  for (int i = i0; i < i1; ++i) {
    V d[T];
    Transforms<M>::input_transposed(cols[i], d);
    for (int j = j0; j < j1; ++j) {
      float* cell = dx + (origin + i * row_floats + j * C + c0);
      store_n(cell, i >= fresh_i && j >= fresh_j ? d[j] : load_n(cell, w) + d[j], w);
    }
  }
}

// dx += B m B^T of tiles [t0, t0 + count), m[(p * count + t) * C + c] (see backward_tiled).
template <int M>
void add_input_grad(const WinogradGeometry& g, const float* m, int64_t t0, int64_t count,
                    float* dx) {
  constexpr int T = M + 2;
  const Tiling<M> tiles(g);
  const int64_t C = g.ci, plane = count * C, full = C / kLanes * kLanes;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = t0 + t, n = tiles.image(tile);
    const int64_t ih0 = tiles.row(tile) - g.pad_h, iw0 = tiles.col(tile) - g.pad_w;
    const int i0 = static_cast<int>(std::max<int64_t>(0, -ih0));
    const int i1 = static_cast<int>(std::min<int64_t>(T, g.in_h - ih0));
    const int j0 = static_cast<int>(std::max<int64_t>(0, -iw0));
    const int j1 = static_cast<int>(std::min<int64_t>(T, g.in_w - iw0));
    const float* src = m + t * C;
    // Tiles run in row-major order and overlap their neighbours by T - M = 2 cells, so a tile
    // that is not first in its row (column) of tiles finds cells before row (column) 2 written.
    const int fi = tiles.row(tile) == 0 ? 0 : T - M, fj = tiles.col(tile) == 0 ? 0 : T - M;
    const int64_t origin = ((n * g.in_h + ih0) * g.in_w + iw0) * C, row = g.in_w * C;
    for (int64_t c0 = 0; c0 < full; c0 += kLanes)
      input_grad_block<M, true>(src, c0, kLanes, plane, i0, i1, j0, j1, fi, fj, dx, origin, row,
                                C);
    if (full < C)
      input_grad_block<M, false>(src, full, C - full, plane, i0, i1, j0, j1, fi, fj, dx, origin,
                                 row, C);
  }
}

// e[(p * count + t) * F + f]: A e A^T of each M x M tile of dy (zeros past the edges).
template <int M>
void transform_dy(const WinogradGeometry& g, const float* dy, int64_t t0, int64_t count,
                  float* e) {
  const Tiling<M> tiles(g);
  const int64_t F = g.co, plane = count * F, full = F / kLanes * kLanes;
  const float* zero = zeros(F);
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = t0 + t, n = tiles.image(tile);
    const int64_t oh0 = tiles.row(tile), ow0 = tiles.col(tile);
    const float* src[M][M];
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < M; ++j)
        src[i][j] = oh0 + i < g.out_h && ow0 + j < g.out_w
                        ? dy + ((n * g.out_h + oh0 + i) * g.out_w + ow0 + j) * F
                        : zero;
    float* dst = e + t * F;
    for (int64_t f0 = 0; f0 < full; f0 += kLanes)
      transform_tile<M, M + 2, Transforms<M>::dy, true>(src, f0, kLanes, dst, plane);
    if (full < F)
      transform_tile<M, M + 2, Transforms<M>::dy, false>(src, full, F - full, dst, plane);
  }
}

int64_t chunk_tiles(int64_t budget, int64_t floats_per_tile) {
  return std::max<int64_t>(1, budget / floats_per_tile);
}


// u[(p * T + q) * winograd_plane(ci, co) + i * co + o] = (G g G^T)[p][q] for the filter g from
// input channel i to output channel o (ci = s.c, co = s.f), 16 of the co channels at a time.
template <int M>
void filters_tiled(const Conv2dShape& s, const float* w, int64_t i0, int64_t i1, float* u) {
  constexpr int T = M + 2;
  const int64_t ci = s.c, co = s.f;
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t o0 = 0; o0 < co; o0 += kLanes) {
      const int64_t ob = std::min(kLanes, co - o0);
      V g[3][3];
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw)
          g[kh][kw] = load_n(w + ((kh * 3 + kw) * ci + i) * co + o0, ob);
      V cols[T][3];  // G g: cols[p][kw]
      for (int kw = 0; kw < 3; ++kw) {
        const V col[3] = {g[0][kw], g[1][kw], g[2][kw]};
        V r[T];
        Transforms<M>::filter(col, r);
        for (int p = 0; p < T; ++p) cols[p][kw] = r[p];
      }
      for (int p = 0; p < T; ++p) {
        V r[T];
        Transforms<M>::filter(cols[p], r);
        for (int q = 0; q < T; ++q)
          store_n(u + (p * T + q) * winograd_plane(ci, co) + i * co + o0, r[q], ob);
      }
    }
}

template <int M>
bool conv_tiled(const WinogradGeometry& g, const float* in, const float* u, const float* b,
                int64_t n0, int64_t n1, float* out) {
  constexpr int64_t P = (M + 2) * (M + 2);  // transformed positions
  const int64_t per_image = Tiling<M>(g).per_image(), ci = g.ci, co = g.co;
  const int64_t t_end = n1 * per_image, chunk = chunk_tiles(kForwardChunkFloats, P * (ci + co));
  float* v = workspace(P * std::min(chunk, t_end - n0 * per_image) * (ci + co));
  bool finite = true;
  for (int64_t t0 = n0 * per_image; t0 < t_end; t0 += chunk) {
    const int64_t count = std::min(chunk, t_end - t0);
    float* m = v + P * count * ci;
    // Tile-major: each tile's transforms read and write one contiguous run (the GEMMs read and
    // write rows P * ci and P * co floats apart instead). The backward stays position-major: its
    // GEMMs lose as much with tile-major as its transforms gain.
    transform_input<M>(g, in, t0, count, P * ci, ci, v);
    for (int64_t p = 0; p < P; ++p)
      sgemm(false, false, count, co, ci, 1.0f, v + p * ci, P * ci, u + p * winograd_plane(ci, co),
            co, 0.0f, m + p * co, P * co);
    finite &= transform_output<M>(g, m, b, t0, count, out);
  }
  return finite;
}

void filters(const Conv2dShape& s, const float* w, int tile, int64_t i0, int64_t i1, float* u) {
  if (tile == 4)
    filters_tiled<4>(s, w, i0, i1, u);
  else
    filters_tiled<2>(s, w, i0, i1, u);
}

bool conv(const WinogradGeometry& g, const float* in, const float* u, const float* b, int64_t n0,
          int64_t n1, float* out) {
  return g.tile == 4 ? conv_tiled<4>(g, in, u, b, n0, n1, out)
                     : conv_tiled<2>(g, in, u, b, n0, n1, out);
}

// sums[f] += e[t * F + f] for t < count, in order, 16 columns at a time in registers.
inline void add_tile_sums(const float* e, int64_t count, int64_t F, float* sums) {
  for (int64_t f0 = 0; f0 < F; f0 += kLanes) {
    const int64_t w = std::min(kLanes, F - f0);
    V acc = load_n(sums + f0, w);
    for (int64_t t = 0; t < count; ++t) acc += load_n(e + t * F + f0, w);
    store_n(sums + f0, acc, w);
  }
}

// The gradients of the forward geometry g's F(M x M, 3x3) for images [n0, n1), both transposes
// of it on the forward's tiles and sharing the transform of each M x M dy tile (A e A^T):
//   dw  F(3x3, M x M): per position, the sum over tiles of (B^T x B)^T (A e A^T) (one GEMM whose
//       inner dimension is the tiles), transformed back (G^T . G) once at the end.
//   dx  (unless null) per position, (A e A^T) times the transformed filters (F x C
//       each, from u), then B m B^T added into the T x T input cells of each tile that lie inside
//       the image (the first tile to reach a cell stores it). Neighbouring tiles overlap by 2
//       cells; all tiles of an image belong to one call, so the sums run in tile order whatever
//       the thread count.
//   db  (added to; finite on entry) the sum over tiles of the transformed dy at position (1, 1):
//       the sum of the tile's cells (row 1 of A is all ones), so dy is not read a second time.
// dw's and db's sums do not depend on whether dx is computed. Under F(4x4), false when dy holds a
// NaN or an infinity (see conv2d_winograd.h), found at no cost from db: every dy cell is in one
// tile's sum, and a non-finite term leaves the sum non-finite (as does, harmlessly, an overflow).
// Under F(2x2), true.
template <int M>
bool backward_tiled(const WinogradGeometry& g, const float* x, const float* dy, const float* u,
                    int64_t n0, int64_t n1, float* dx, float* dw, float* db) {
  constexpr int T = M + 2;
  constexpr int64_t P = T * T;  // transformed positions
  const int64_t per_image = Tiling<M>(g).per_image(), C = g.ci, F = g.co;
  const int64_t t_end = n1 * per_image, chunk = chunk_tiles(kWorkspaceFloats, P * (C + F));
  // The P per-position sums (C x F each, winograd_plane apart) accumulate over the chunks after
  // the chunk's tiles.
  const int64_t tiles_floats = P * std::min(chunk, t_end - n0 * per_image) * (C + F);
  float* v = workspace(tiles_floats + P * winograd_plane(C, F));
  float* acc = v + tiles_floats;
  for (int64_t t0 = n0 * per_image; t0 < t_end; t0 += chunk) {
    const int64_t count = std::min(chunk, t_end - t0);
    float* e = v + P * count * C;
    transform_input<M>(g, x, t0, count, C, count * C, v);
    transform_dy<M>(g, dy, t0, count, e);
    add_tile_sums(e + (T + 1) * count * F, count, F, db);
    // Position by position, dx's product right after dw's: it reads the dy tiles dw's just read
    // (L1, not L2) and writes dx's transformed tiles over the x tiles dw's has consumed.
    for (int64_t p = 0; p < P; ++p) {
      float* vp = v + p * count * C;
      const float* ep = e + p * count * F;
      sgemm(true, false, C, F, count, 1.0f, vp, C, ep, F, t0 == n0 * per_image ? 0.0f : 1.0f,
            acc + p * winograd_plane(C, F), F);
      if (dx)
        sgemm(false, false, count, C, F, 1.0f, ep, F, u + p * winograd_plane(F, C), C, 0.0f, vp,
              C);
    }
    if (dx) add_input_grad<M>(g, v, t0, count, dx);
  }
  // dw = G^T M G for every (c, f), 16 filters at a time.
  for (int64_t c = 0; c < C; ++c)
    for (int64_t f0 = 0; f0 < F; f0 += kLanes) {
      const int64_t fb = std::min(kLanes, F - f0);
      V rows[3][T];  // G^T M: rows[kh][q]
      for (int q = 0; q < T; ++q) {
        V col[T], r[3];
        for (int p = 0; p < T; ++p)
          col[p] = load_n(acc + (p * T + q) * winograd_plane(C, F) + c * F + f0, fb);
        Transforms<M>::filter_grad(col, r);
        for (int kh = 0; kh < 3; ++kh) rows[kh][q] = r[kh];
      }
      for (int kh = 0; kh < 3; ++kh) {
        V out[3];
        Transforms<M>::filter_grad(rows[kh], out);
        for (int kw = 0; kw < 3; ++kw) store_n(dw + ((kh * 3 + kw) * C + c) * F + f0, out[kw], fb);
      }
    }
  if (M == 2) return true;
  for (int64_t f = 0; f < F; ++f)
    if (!std::isfinite(db[f])) return false;
  return true;
}

bool backward(const WinogradGeometry& g, const float* x, const float* dy, const float* u,
              int64_t n0, int64_t n1, float* dx, float* dw, float* db) {
  return g.tile == 4 ? backward_tiled<4>(g, x, dy, u, n0, n1, dx, dw, db)
                     : backward_tiled<2>(g, x, dy, u, n0, n1, dx, dw, db);
}

constexpr Kernels kKernels{filters, conv, backward};

}  // namespace
}  // namespace winograd
#pragma GCC diagnostic pop
}  // namespace shendu
