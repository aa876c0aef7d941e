// The Winograd F(2x2, 3x3) kernels (see conv2d_winograd.h), compiled once per instruction set:
// conv2d_winograd.cpp (portable), conv2d_winograd_avx2.cpp and conv2d_winograd_avx512.cpp include
// this file, and GCC lowers the 16-float vectors of the transforms to 4 SSE, 2 AVX2 or 1 AVX-512
// register (the portable build spent as long in the transforms as in the GEMMs). Internal
// linkage keeps the per-ISA copies apart; conv2d_winograd.cpp picks one at run time.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "conv2d_winograd.h"
#include "gemm.h"

namespace shendu {

struct WinogradKernels {
  // u (16 x ci x co) from w, as winograd_filters.
  void (*filters)(const Conv2dShape& s, const float* w, bool input_grad, float* u);
  void (*conv)(const WinogradGeometry& g, const float* in, const float* u, const float* b,
               int64_t n0, int64_t n1, float* out);
  void (*filter_grad)(const Conv2dShape& s, const float* x, const float* dy, int64_t n0,
                      int64_t n1, float* dw);
};

const WinogradKernels& winograd_kernels_avx2();
const WinogradKernels& winograd_kernels_avx512();

// The vector helpers pass 64-byte vectors by value; they have internal linkage and are inlined, so
// the ABI difference GCC warns about for non-AVX-512 builds never crosses a call boundary.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
namespace {
namespace winograd {

// The transforms run over channels (contiguous in NHWC) 16 at a time.
constexpr int64_t kLanes = 16;
typedef float V __attribute__((vector_size(kLanes * sizeof(float))));

// Transformed tiles of one chunk (floats): 1 MiB keeps a chunk in L2 from its input transform
// through the 16 GEMMs to its output transform.
constexpr int64_t kWorkspaceFloats = int64_t{1} << 18;

// Per calling thread and reused across calls, like the im2col workspace (conv2d.cpp). One buffer
// per ISA copy; only the active one grows.
float* workspace(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
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

// The 1-D transforms, applied to the rows and then the columns of a tile:
// input  B^T d           (F(2, 3) and F(3, 2) share it)
// output A^T m           (F(2, 3): 4 -> 2)
// filter G g             (F(2, 3): 3 -> 4)
// dy     A e             (F(3, 2): the 2 dy values of a tile row -> 4)
// dw     G^T m           (F(3, 2): 4 -> 3)
inline void input_1d(const V d[4], V out[4]) {
  out[0] = d[0] - d[2];
  out[1] = d[1] + d[2];
  out[2] = d[2] - d[1];
  out[3] = d[1] - d[3];
}

inline void output_1d(const V m[4], V out[2]) {
  out[0] = m[0] + m[1] + m[2];
  out[1] = m[1] - m[2] - m[3];
}

inline void dy_1d(const V e[2], V out[4]) {
  out[0] = e[0];
  out[1] = e[0] + e[1];
  out[2] = e[0] - e[1];
  out[3] = -e[1];
}

inline void filter_1d(const V g[3], V out[4]) {
  out[0] = g[0];
  out[1] = 0.5f * (g[0] + g[1] + g[2]);
  out[2] = 0.5f * (g[0] - g[1] + g[2]);
  out[3] = g[2];
}

inline void filter_grad_1d(const V m[4], V out[3]) {
  out[0] = m[0] + 0.5f * (m[1] + m[2]);
  out[1] = 0.5f * (m[1] - m[2]);
  out[2] = 0.5f * (m[1] + m[2]) + m[3];
}

// Tiles are counted over the whole batch: tile t is image t / per_image, and within it row-major
// over the (out_h / 2) x (out_w / 2) grid, rounded up.
struct Tiling {
  int64_t h, w;
  explicit Tiling(const WinogradGeometry& g) : h((g.out_h + 1) / 2), w((g.out_w + 1) / 2) {}
  int64_t per_image() const { return h * w; }
  int64_t image(int64_t t) const { return t / per_image(); }
  int64_t row(int64_t t) const { return t % per_image() / w * 2; }  // of its top-left output
  int64_t col(int64_t t) const { return t % per_image() % w * 2; }
};

// n floats of zeros (per calling thread), read in place of the cells outside the image, so every
// load of a tile transform is unconditional; with the full 16-channel blocks compiled for a
// constant width (the *_block templates), the input, dy and output transforms of the 13x13x32 ->
// 64 layer (AVX-512, 1 thread) take 20-25% less time than with a branch per load and run-time
// widths.
const float* zeros(int64_t n) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(static_cast<size_t>(n), 0.0f);
  return buffer.data();
}

// B^T d B of channels [c0, c0 + n) of one tile (n == kLanes when Full, a constant the loads and
// stores compile to single vector moves with).
template <bool Full>
inline void input_block(const float* const src[4][4], int64_t c0, int64_t n, float* dst,
                        int64_t plane) {
  V rows[4][4];  // B^T d: rows[i][j] for tile column j
  for (int j = 0; j < 4; ++j) {
    V d[4], r[4];
    for (int i = 0; i < 4; ++i) d[i] = load_n(src[i][j] + c0, Full ? kLanes : n);
    input_1d(d, r);
    for (int i = 0; i < 4; ++i) rows[i][j] = r[i];
  }
  for (int i = 0; i < 4; ++i) {
    V out[4];
    input_1d(rows[i], out);
    for (int j = 0; j < 4; ++j) store_n(dst + (i * 4 + j) * plane + c0, out[j], Full ? kLanes : n);
  }
}

// v[(p * count + t) * ci + c] for positions p < 16 of tiles [t0, t0 + count): B^T d B of each
// 4x4 input tile, zeros for the cells outside the image.
void transform_input(const WinogradGeometry& g, const float* in, int64_t t0, int64_t count,
                     float* v) {
  const Tiling tiles(g);
  const int64_t C = g.ci, plane = count * C, full = C / kLanes * kLanes;
  const float* zero = zeros(C);
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = t0 + t, n = tiles.image(tile);
    const int64_t ih0 = tiles.row(tile) - g.pad_h, iw0 = tiles.col(tile) - g.pad_w;
    const float* src[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const int64_t ih = ih0 + i, iw = iw0 + j;
        const bool inside = ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w;
        src[i][j] = inside ? in + ((n * g.in_h + ih) * g.in_w + iw) * C : zero;
      }
    float* dst = v + t * C;
    for (int64_t c0 = 0; c0 < full; c0 += kLanes) input_block<true>(src, c0, kLanes, dst, plane);
    if (full < C) input_block<false>(src, full, C - full, dst, plane);
  }
}

// A^T m A (+ bias) of filters [f0, f0 + n) of one tile; only its rows_in x cols_in cells, which
// lie row_floats apart (rows) and F apart (columns) from dst, are stored (Full: n == kLanes, as
// input_block).
template <bool Full>
inline void output_block(const float* src, const float* b, int64_t f0, int64_t n, int64_t plane,
                         int rows_in, int cols_in, float* dst, int64_t row_floats, int64_t F) {
  const int64_t w = Full ? kLanes : n;
  const V bias = b ? load_n(b + f0, w) : V{};
  V cols[2][4];  // A^T m: cols[i][q] for transformed column q
  for (int q = 0; q < 4; ++q) {
    V col[4], r[2];
    for (int p = 0; p < 4; ++p) col[p] = load_n(src + (p * 4 + q) * plane + f0, w);
    output_1d(col, r);
    cols[0][q] = r[0];
    cols[1][q] = r[1];
  }
  for (int i = 0; i < rows_in; ++i) {
    V y[2];
    output_1d(cols[i], y);
    for (int j = 0; j < cols_in; ++j) store_n(dst + i * row_floats + j * F + f0, y[j] + bias, w);
  }
}

// out (+ b) for tiles [t0, t0 + count) from m[(p * count + t) * co + f]: A^T m A of each tile,
// the cells past the bottom/right edge dropped.
void transform_output(const WinogradGeometry& g, const float* m, const float* b, int64_t t0,
                      int64_t count, float* out) {
  const Tiling tiles(g);
  const int64_t F = g.co, plane = count * F, full = F / kLanes * kLanes;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = t0 + t, n = tiles.image(tile);
    const int64_t oh0 = tiles.row(tile), ow0 = tiles.col(tile);
    const int rows_in = static_cast<int>(std::min<int64_t>(2, g.out_h - oh0));
    const int cols_in = static_cast<int>(std::min<int64_t>(2, g.out_w - ow0));
    const float* src = m + t * F;
    float* dst = out + ((n * g.out_h + oh0) * g.out_w + ow0) * F;
    for (int64_t f0 = 0; f0 < full; f0 += kLanes)
      output_block<true>(src, b, f0, kLanes, plane, rows_in, cols_in, dst, g.out_w * F, F);
    if (full < F)
      output_block<false>(src, b, full, F - full, plane, rows_in, cols_in, dst, g.out_w * F, F);
  }
}

// A e A^T of filters [f0, f0 + n) of one 2x2 dy tile (Full: n == kLanes, as input_block).
template <bool Full>
inline void dy_block(const float* const src[2][2], int64_t f0, int64_t n, float* dst,
                     int64_t plane) {
  V rows[4][2];  // A e: rows[p][j] for dy column j
  for (int j = 0; j < 2; ++j) {
    V d[2], r[4];
    for (int i = 0; i < 2; ++i) d[i] = load_n(src[i][j] + f0, Full ? kLanes : n);
    dy_1d(d, r);
    for (int p = 0; p < 4; ++p) rows[p][j] = r[p];
  }
  for (int p = 0; p < 4; ++p) {
    V out[4];
    dy_1d(rows[p], out);
    for (int q = 0; q < 4; ++q) store_n(dst + (p * 4 + q) * plane + f0, out[q], Full ? kLanes : n);
  }
}

// e[(p * count + t) * F + f]: A e A^T of each 2x2 tile of dy (zeros past the edges).
void transform_dy(const WinogradGeometry& g, const float* dy, int64_t t0, int64_t count,
                  float* e) {
  const Tiling tiles(g);
  const int64_t F = g.co, plane = count * F, full = F / kLanes * kLanes;
  const float* zero = zeros(F);
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = t0 + t, n = tiles.image(tile);
    const int64_t oh0 = tiles.row(tile), ow0 = tiles.col(tile);
    const float* src[2][2];
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        src[i][j] = oh0 + i < g.out_h && ow0 + j < g.out_w
                        ? dy + ((n * g.out_h + oh0 + i) * g.out_w + ow0 + j) * F
                        : zero;
    float* dst = e + t * F;
    for (int64_t f0 = 0; f0 < full; f0 += kLanes) dy_block<true>(src, f0, kLanes, dst, plane);
    if (full < F) dy_block<false>(src, full, F - full, dst, plane);
  }
}

int64_t chunk_tiles(int64_t floats_per_tile) {
  return std::max<int64_t>(1, kWorkspaceFloats / floats_per_tile);
}


// u[((p * 4 + q) * ci + i) * co + o] = (G g G^T)[p][q] for the filter g from input channel i to
// output channel o, 16 output channels at a time.
void filters(const Conv2dShape& s, const float* w, bool input_grad, float* u) {
  const int64_t C = s.c, F = s.f;
  const int64_t ci = input_grad ? F : C, co = input_grad ? C : F;
  for (int64_t i = 0; i < ci; ++i)
    for (int64_t o0 = 0; o0 < co; o0 += kLanes) {
      const int64_t ob = std::min(kLanes, co - o0);
      V g[3][3];
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) {
          if (!input_grad) {
            g[kh][kw] = load_n(w + ((kh * 3 + kw) * C + i) * F + o0, ob);
            continue;
          }
          // Flipped, channels swapped: the output channels (c) lie F apart in w.
          const float* src = w + (((2 - kh) * 3 + 2 - kw) * C + o0) * F + i;
          V v = {};
          for (int64_t l = 0; l < ob; ++l) v[l] = src[l * F];
          g[kh][kw] = v;
        }
      V cols[4][3];  // G g: cols[p][kw]
      for (int kw = 0; kw < 3; ++kw) {
        const V col[3] = {g[0][kw], g[1][kw], g[2][kw]};
        V r[4];
        filter_1d(col, r);
        for (int p = 0; p < 4; ++p) cols[p][kw] = r[p];
      }
      for (int p = 0; p < 4; ++p) {
        V r[4];
        filter_1d(cols[p], r);
        for (int q = 0; q < 4; ++q) store_n(u + ((p * 4 + q) * ci + i) * co + o0, r[q], ob);
      }
    }
}

void conv(const WinogradGeometry& g, const float* in, const float* u, const float* b,
                   int64_t n0, int64_t n1, float* out) {
  const int64_t per_image = Tiling(g).per_image(), ci = g.ci, co = g.co;
  const int64_t t_end = n1 * per_image, chunk = chunk_tiles(16 * (ci + co));
  float* v = workspace(16 * std::min(chunk, t_end - n0 * per_image) * (ci + co));
  for (int64_t t0 = n0 * per_image; t0 < t_end; t0 += chunk) {
    const int64_t count = std::min(chunk, t_end - t0);
    float* m = v + 16 * count * ci;
    transform_input(g, in, t0, count, v);
    for (int64_t p = 0; p < 16; ++p)
      sgemm(false, false, count, co, ci, 1.0f, v + p * count * ci, ci, u + p * ci * co, co, 0.0f,
            m + p * count * co, co);
    transform_output(g, m, b, t0, count, out);
  }
}

void filter_grad(const Conv2dShape& s, const float* x, const float* dy, int64_t n0,
                          int64_t n1, float* dw) {
  const WinogradGeometry g = winograd_forward_geometry(s);
  const int64_t per_image = Tiling(g).per_image(), C = s.c, F = s.f;
  const int64_t t_end = n1 * per_image, chunk = chunk_tiles(16 * (C + F));
  // The 16 per-position sums (C x F each) accumulate over the chunks after the chunk's tiles.
  const int64_t tiles_floats = 16 * std::min(chunk, t_end - n0 * per_image) * (C + F);
  float* v = workspace(tiles_floats + 16 * C * F);
  float* acc = v + tiles_floats;
  for (int64_t t0 = n0 * per_image; t0 < t_end; t0 += chunk) {
    const int64_t count = std::min(chunk, t_end - t0);
    float* e = v + 16 * count * C;
    transform_input(g, x, t0, count, v);
    transform_dy(g, dy, t0, count, e);
    for (int64_t p = 0; p < 16; ++p)
      sgemm(true, false, C, F, count, 1.0f, v + p * count * C, C, e + p * count * F, F,
            t0 == n0 * per_image ? 0.0f : 1.0f, acc + p * C * F, F);
  }
  // dw = G^T M G for every (c, f), 16 filters at a time.
  for (int64_t c = 0; c < C; ++c)
    for (int64_t f0 = 0; f0 < F; f0 += kLanes) {
      const int64_t fb = std::min(kLanes, F - f0);
      V rows[3][4];  // G^T M: rows[kh][q]
      for (int q = 0; q < 4; ++q) {
        V col[4], r[3];
        for (int p = 0; p < 4; ++p) col[p] = load_n(acc + ((p * 4 + q) * C + c) * F + f0, fb);
        filter_grad_1d(col, r);
        for (int kh = 0; kh < 3; ++kh) rows[kh][q] = r[kh];
      }
      for (int kh = 0; kh < 3; ++kh) {
        V out[3];
        filter_grad_1d(rows[kh], out);
        for (int kw = 0; kw < 3; ++kw) store_n(dw + ((kh * 3 + kw) * C + c) * F + f0, out[kw], fb);
      }
    }
}

constexpr WinogradKernels kKernels{filters, conv, filter_grad};

}  // namespace winograd
}  // namespace
#pragma GCC diagnostic pop
}  // namespace shendu
