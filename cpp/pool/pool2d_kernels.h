// The max-pooling line kernels, compiled once per instruction set: pool2d.cpp (portable),
// pool2d_avx2.cpp and pool2d_avx512.cpp include this file, and their compile flags let the
// compiler vectorize the channel loops (float compares driving float and integer selects, which
// baseline SSE2 does poorly; AVX-512 masks do it well). Internal linkage keeps the
// per-ISA copies apart; pool2d.cpp picks one set at run time.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "pool/pool2d.h"

namespace shendu::pool2d {

template <class Index>
struct Kernels {
  // Computes output line `line` = n * Ho + oh of y and argmax.
  void (*forward_line)(const Pool2dShape& s, const float* x, int64_t line, float* y,
                       Index* argmax);
  // Writes input line `line` = n * H + ih of dx; returns -1, or the flat argmax index of the
  // first stray value among the output lines whose windows start at this line.
  int64_t (*backward_line)(const Pool2dShape& s, const float* dy, const Index* argmax,
                           int64_t line, float* dx);
  // For windows that tile x (see tiles_x): writes the input rows of output line `line`
  // = n * Ho + oh of dy (and, after an image's last one, the rows no window covers); returns -1,
  // or the flat argmax index of the first stray value on that output line.
  int64_t (*backward_tiles)(const Pool2dShape& s, const float* dy, const Index* argmax,
                            int64_t line, float* dx);
};

// True when the windows tile x: stride = pool size, no padding before the first window and
// none after the last ("same" padding puts any odd cell after it), so every window is whole and
// every cell of x lies in one window, or (rows/columns past the last window) in none. Each dx
// cell is then one select, dy or 0, with no sum and no border cases.
inline bool tiles_x(const Pool2dShape& s) {
  const auto tiles = [](const Axis& a) {
    return a.stride == a.kernel && a.pad == 0 && a.out * a.kernel <= a.in;
  };
  return tiles(s.h) && tiles(s.w);
}
template <class Index>
const Kernels<Index>& kernels_generic();  // pool2d.cpp
template <class Index>
const Kernels<Index>& kernels_avx2();  // pool2d_avx2.cpp
template <class Index>
const Kernels<Index>& kernels_avx512();  // pool2d_avx512.cpp

namespace {

// The channel loops, written portably for the compiler to vectorize (pool2d_avx512.cpp swaps in
// intrinsics through the same interface).
struct PortableChannels {
  // Channels handled per pass over a window: the running argmax lives in an int32 stack buffer
  // (the compiler vectorizes a float compare driving a 32-bit select, not one driving a byte).
  static constexpr int64_t kChunk = 64;

  // Folds one cell v into the running maximum: strictly greater keeps the first of equal
  // values, and a NaN replaces any number (so the first NaN wins and propagates). Written as
  // one branch-free mask, "b is a number and not u <= b": with || the compiler branched on
  // the data, which mispredicts on every other cell of random input.
  static void max_step(float* __restrict best, int32_t* __restrict at, const float* __restrict v,
                       int32_t tap, int64_t n) {
    for (int64_t c = 0; c < n; ++c) {
      const float b = best[c], u = v[c];
      const bool take = (b == b) & !(u <= b);
      best[c] = take ? u : b;
      at[c] = take ? tap : at[c];
    }
  }

  // y, at (C channels) = the maximum over the rows x cols real cells starting at `first` (next
  // row: + row_step floats, next column: + C), in row-major order; the cell (r, q) is tap
  // tap0 + r * KW + q. Fixed > 0: a whole Fixed x Fixed window (rows, cols, KW, tap0 ignored),
  // its loops unrolled and its taps constants.
  template <int64_t Fixed, class Index>
  static void window_max(const float* first, int64_t row_step, int64_t rows, int64_t cols,
                         int64_t tap0, int64_t KW, int64_t C, float* y, Index* at) {
    if (Fixed) rows = cols = KW = Fixed, tap0 = 0;
    for (int64_t c0 = 0; c0 < C; c0 += kChunk) {
      const int64_t m = std::min(kChunk, C - c0);
      int32_t tap[kChunk];
      std::memcpy(y + c0, first + c0, sizeof(float) * m);
      for (int64_t c = 0; c < m; ++c) tap[c] = static_cast<int32_t>(tap0);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t q = r == 0 ? 1 : 0; q < cols; ++q)
          max_step(y + c0, tap, first + r * row_step + q * C + c0,
                   static_cast<int32_t>(tap0 + r * KW + q), m);
      for (int64_t c = 0; c < m; ++c) at[c0 + c] = static_cast<Index>(tap[c]);
    }
  }

  // out (C channels) = (or +=) g where am names `tap`, else 0.
  template <bool Accumulate, class Index>
  static void route(const float* __restrict g, const Index* __restrict am, Index tap,
                    float* __restrict out, int64_t C) {
    for (int64_t c = 0; c < C; ++c) {
      const float v = am[c] == tap ? g[c] : 0.0f;
      out[c] = Accumulate ? out[c] + v : v;
    }
  }

  // Writes every cell of one whole window (KH x KW cells, C channels each; next row: + row_step
  // floats): g where am names the cell, else 0.
  template <int64_t Fixed, class Index>
  static void route_window(const float* g, const Index* am, int64_t KH, int64_t KW,
                           int64_t row_step, float* out, int64_t C) {
    if (Fixed) KH = KW = Fixed;
    for (int64_t i = 0; i < KH; ++i)
      for (int64_t j = 0; j < KW; ++j)
        route<false>(g, am, static_cast<Index>(i * KW + j), out + i * row_step + j * C, C);
  }
};

template <class Index, class Channels>
void max_pool_forward_line(const Pool2dShape& s, const float* x, int64_t line, float* y,
                           Index* argmax) {
  const int64_t C = s.c, W = s.w.in, Wo = s.w.out, KW = s.w.kernel;
  const int64_t n = line / s.h.out, oh = line % s.h.out;
  const Taps th = taps(s.h, oh);
  const int64_t ih = oh * s.h.stride - s.h.pad + th.k0;  // the first real row
  const float* x_row = x + (n * s.h.in + ih) * W * C;
  float* y_line = y + line * Wo * C;
  Index* at_line = argmax + line * Wo * C;
  if (KW == 2 && s.h.kernel == 2 && tiles_x(s)) {
    // 2x2 pooling that tiles x, the common case: whole windows, at compile time.
    for (int64_t ow = 0; ow < Wo; ++ow)
      Channels::template window_max<2>(x_row + ow * 2 * C, W * C, 2, 2, 0, 2, C, y_line + ow * C,
                                       at_line + ow * C);
    return;
  }
  for (int64_t ow = 0; ow < Wo; ++ow) {
    const Taps tw = taps(s.w, ow);
    const int64_t iw = ow * s.w.stride - s.w.pad + tw.k0;  // the first real column
    Channels::template window_max<0>(x_row + iw * C, W * C, th.k1 - th.k0, tw.k1 - tw.k0,
                                     th.k0 * KW + tw.k0, KW, C, y_line + ow * C,
                                     at_line + ow * C);
  }
}

// -1, or the offset in the argmax line of output row oh of its first value that names no real
// cell of its window (the forward never writes one; a caller could).
template <class Index>
int64_t first_stray(const Pool2dShape& s, int64_t oh, const Index* am) {
  const int64_t C = s.c, KW = s.w.kernel, area = s.h.kernel * KW;
  const Taps th = taps(s.h, oh);
  const bool full_rows = th.k0 == 0 && th.k1 == s.h.kernel;
  for (int64_t ow = 0; ow < s.w.out; ++ow) {
    const Index* a = am + ow * C;
    const Taps tw = taps(s.w, ow);
    if (full_rows && tw.k0 == 0 && tw.k1 == KW) {
      // Every tap is a real cell: a vectorized maximum decides for all channels at once.
      Index worst = 0;
      for (int64_t c = 0; c < C; ++c) worst = std::max(worst, a[c]);
      if (worst < area) continue;
    }
    for (int64_t c = 0; c < C; ++c) {
      const int64_t i = a[c] / KW, j = a[c] % KW;
      if (i < th.k0 || i >= th.k1 || j < tw.k0 || j >= tw.k1) return ow * C + c;
    }
  }
  return -1;
}

// Routes tap row i of output row (g, am) into the dx line d. Accumulate = false stores instead:
// only for windows that do not overlap along W, and it also zeroes the columns no window covers,
// so the line needs no zero-fill pass.
template <bool Accumulate, class Index, class Channels>
void route_row(const Pool2dShape& s, int64_t i, const float* __restrict g,
               const Index* __restrict am, float* __restrict d) {
  const int64_t C = s.c, KW = s.w.kernel;
  int64_t done = 0;  // with !Accumulate: columns [0, done) are written
  for (int64_t ow = 0; ow < s.w.out; ++ow, g += C, am += C) {
    const Taps tw = taps(s.w, ow);
    const int64_t col0 = ow * s.w.stride - s.w.pad;
    // (A gap exists only when stride > pool or at the border; memset(0 bytes) is not free.)
    if (!Accumulate && col0 + tw.k0 > done)
      std::memset(d + done * C, 0, sizeof(float) * (col0 + tw.k0 - done) * C);
    for (int64_t j = tw.k0; j < tw.k1; ++j)
      Channels::template route<Accumulate>(g, am, static_cast<Index>(i * KW + j),
                                           d + (col0 + j) * C, C);
    done = col0 + tw.k1;
  }
  if (!Accumulate && s.w.in > done)
    std::memset(d + done * C, 0, sizeof(float) * (s.w.in - done) * C);
}

template <class Index, class Channels>
int64_t max_pool_backward_line(const Pool2dShape& s, const float* dy, const Index* argmax,
                               int64_t line, float* dx) {
  const int64_t C = s.c, W = s.w.in, Wo = s.w.out;
  const int64_t n = line / s.h.in, ih = line % s.h.in;
  float* d = dx + line * W * C;
  const Taps rows = outputs_covering(s.h, ih);
  // The first window row stores (no zero-fill) when windows do not overlap along W; the rest add.
  bool store = s.w.stride >= s.w.kernel && rows.k0 < rows.k1;
  if (!store) std::memset(d, 0, sizeof(float) * W * C);
  int64_t stray = -1;
  for (int64_t oh = rows.k0; oh < rows.k1; ++oh) {
    const int64_t at = (n * s.h.out + oh) * Wo * C;
    const int64_t row0 = oh * s.h.stride - s.h.pad;
    // Each output row is checked once, by the first real input row of its windows.
    if (stray < 0 && ih == std::max<int64_t>(row0, 0)) {
      const int64_t off = first_stray(s, oh, argmax + at);
      if (off >= 0) stray = at + off;
    }
    if (store)
      route_row<false, Index, Channels>(s, ih - row0, dy + at, argmax + at, d);
    else
      route_row<true, Index, Channels>(s, ih - row0, dy + at, argmax + at, d);
    store = false;
  }
  return stray;
}

// Writes the whole windows of one output row (Wo windows; dy and argmax of that row), each a
// Fixed x Fixed window when Fixed > 0 (a compile-time size unrolls the loops over its cells).
template <int64_t Fixed, class Index, class Channels>
void route_windows(const float* g, const Index* am, int64_t Wo, int64_t KH, int64_t KW,
                   int64_t row_step, float* d, int64_t C) {
  for (int64_t ow = 0; ow < Wo; ++ow)
    Channels::template route_window<Fixed>(g + ow * C, am + ow * C, KH, KW, row_step,
                                           d + ow * KW * C, C);
}

template <class Index, class Channels>
int64_t max_pool_backward_tiles(const Pool2dShape& s, const float* dy, const Index* argmax,
                                int64_t line, float* dx) {
  const int64_t C = s.c, W = s.w.in, Wo = s.w.out, KH = s.h.kernel, KW = s.w.kernel;
  const int64_t n = line / s.h.out, oh = line % s.h.out;
  const int64_t at = line * Wo * C, row_step = W * C, covered = Wo * KW * C;
  float* d = dx + (n * s.h.in + oh * KH) * row_step;
  // 2x2 pooling, the common case, gets its window loops unrolled.
  (KH == 2 && KW == 2 ? route_windows<2, Index, Channels> : route_windows<0, Index, Channels>)(
      dy + at, argmax + at, Wo, KH, KW, row_step, d, C);
  if (covered < row_step)
    for (int64_t i = 0; i < KH; ++i)
      std::memset(d + i * row_step + covered, 0, sizeof(float) * (row_step - covered));
  if (oh == s.h.out - 1)
    std::memset(d + KH * row_step, 0, sizeof(float) * (s.h.in - s.h.out * KH) * row_step);
  const int64_t off = first_stray(s, oh, argmax + at);
  return off < 0 ? -1 : at + off;
}

template <class Index, class Channels = PortableChannels>
constexpr Kernels<Index> kKernels{max_pool_forward_line<Index, Channels>,
                                  max_pool_backward_line<Index, Channels>,
                                  max_pool_backward_tiles<Index, Channels>};

}  // namespace
}  // namespace shendu::pool2d
