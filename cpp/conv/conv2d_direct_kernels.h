// Direct convolution (no im2col, no GEMM) for layers with few input channels, compiled once per
// instruction set: conv2d.cpp (portable), conv2d_direct_avx2.cpp and conv2d_direct_avx512.cpp
// include this file, and each builds with vectors of its native width (4, 8 or 16 floats).
// Internal linkage keeps the per-ISA copies apart; conv2d.cpp picks one at run time.
//
// Why: with C = 1..4 input channels the im2col matrix has only KH * KW * C columns, so im2col
// copies runs of a few floats per cell and the GEMMs have a tiny inner (forward, dw) or output
// (dx: 9 columns for a 3x3 kernel on one channel) dimension, where packing dominates. Here every
// product is a broadcast of one x value times a vector of filters, accumulated in registers.
//
// Filters (wp, bp), dy and dw are laid out with F padded to Fp, a multiple of kLanes (16), with
// zeros in the padding, so every load is a whole vector; only the y stores are trimmed to F. The
// kernels work in blocks of 16 filters, each held as kSub vectors of the widest native size.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/simd_vec.h"
#include "conv/conv2d.h"

namespace shendu {

constexpr int64_t kDirectMaxChannels = 4;
constexpr int64_t kLanes = 16;

inline int64_t padded_filters(int64_t f) { return (f + kLanes - 1) / kLanes * kLanes; }

namespace direct {

struct Kernels {
  // y for output lines [l0, l1) (line = n * Ho + oh).
  void (*forward)(const Conv2dShape& s, const float* x, const float* wp, const float* bp,
                  int64_t l0, int64_t l1, float* y);
  // dx for input lines [g0, g1) (g = n * H + ih), overwritten; dyp is dy with rows of Fp.
  void (*backward_data)(const Conv2dShape& s, const float* dyp, const float* wp, int64_t g0,
                        int64_t g1, float* dx);
  // dwp (KH * KW * C rows of Fp) = the weight gradient of output lines [l0, l1), and dbp (Fp)
  // their bias gradient: dy summed over the lines' cells in order (summed here, while each dy line
  // is in L1, rather than in a second pass over dy).
  void (*backward_filter)(const Conv2dShape& s, const float* dyp, const float* x, int64_t l0,
                          int64_t l1, float* dwp, float* dbp);
};

const Kernels& kernels_generic();  // conv2d.cpp
const Kernels& kernels_avx2();     // conv2d_direct_avx2.cpp
const Kernels& kernels_avx512();   // conv2d_direct_avx512.cpp

}  // namespace direct

// The vector helpers pass vectors by value; they have internal linkage and are inlined, so the ABI
// difference GCC warns about never crosses a call boundary.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
namespace direct {
namespace {

using simd::kVecLanes;
using simd::load;
using simd::V;
constexpr int kSub = kLanes / kVecLanes;  // native vectors per block of 16 filters
// Filters per register block: up to 4 blocks of 16 (64 filters) per output cell.
constexpr int kMaxVectors = 4;

// The 16 lanes of a block (its kSub vectors) summed as a tree of halves, in the same order on
// every ISA (vector adds and shuffles, not a spill to memory and 15 scalar adds: this runs once
// per dx cell).
inline float sum_lanes(const V* part) {
  typedef float V4 __attribute__((vector_size(4 * sizeof(float))));
#if defined(__AVX512F__)
  typedef float V8 __attribute__((vector_size(8 * sizeof(float))));
  const V v = part[0];
  const V8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
               __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const V4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
#elif defined(__AVX2__)
  const V a = part[0] + part[1];
  const V4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
#else
  const V4 b = (part[0] + part[2]) + (part[1] + part[3]);
#endif
  return (b[0] + b[2]) + (b[1] + b[3]);
}

// Accumulator registers a register block may hold: enough chains to hide the FMA latency, few
// enough to stay in registers (32 with AVX-512, 16 otherwise, some kept for operands).
#if defined(__AVX512F__)
constexpr int kAccumulators = 16;
#else
constexpr int kAccumulators = 10;
#endif
constexpr int kMaxBlock = 8;

// How many output cells (forward) or dw rows (backward_filter) share NV blocks of 16 filters.
template <int NV>
constexpr int block_width() {
  return std::max(1, std::min(kMaxBlock, kAccumulators / (NV * kSub)));
}

// Output cells [ow, ow + P) of line l, filters [f0, f0 + NV * kLanes) (trimmed to F when
// stored), C channels: each x value is broadcast once per cell, each filter vector loaded once
// for all P cells. tw: the kernel columns to sum, which for P > 1 must be real for every cell.
// Every cell sums bias, then taps in (kh, kw, c) order, whatever P.
template <int C, int NV, int P>
void forward_cells(const Conv2dShape& s, const float* x, const float* wp, const float* bp,
                   int64_t l, int64_t f0, int64_t ow, Taps tw, float* y) {
  const int64_t KW = s.w.kernel, F = s.f, Fp = padded_filters(F), W = s.w.in, sw = s.w.stride;
  const int64_t n = l / s.h.out, oh = l % s.h.out;
  const Taps th = taps(s.h, oh);
  constexpr int NW = NV * kSub;
  V acc[P][NW];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < NW; ++v) acc[p][v] = load(bp + f0 + v * kVecLanes);
  for (int64_t kh = th.k0; kh < th.k1; ++kh) {
    const float* xr =
        x + ((n * s.h.in + oh * s.h.stride - s.h.pad + kh) * W + ow * sw - s.w.pad) * C;
    const float* wr = wp + kh * KW * C * Fp + f0;
    for (int64_t kw = tw.k0; kw < tw.k1; ++kw)
      for (int c = 0; c < C; ++c) {
        const float* wv = wr + (kw * C + c) * Fp;
        V wvec[NW];
        for (int v = 0; v < NW; ++v) wvec[v] = load(wv + v * kVecLanes);
        for (int p = 0; p < P; ++p) {
          const float xv = xr[(p * sw + kw) * C + c];
          for (int v = 0; v < NW; ++v) acc[p][v] += xv * wvec[v];
        }
      }
  }
  const int64_t stored = std::min<int64_t>(NV * kLanes, F - f0);
  for (int p = 0; p < P; ++p) {
    float* out = y + (l * s.w.out + ow + p) * F + f0;
    // A constant size lets the whole-block store compile to vector moves, not a memcpy call.
    if (stored == NV * kLanes)
      std::memcpy(out, acc[p], sizeof acc[p]);
    else
      std::memcpy(out, acc[p], sizeof(float) * stored);
  }
}

// Output line l, filters [f0, f0 + NV * kLanes): blocks of cells whose windows lie wholly inside
// the row, single cells at the borders.
template <int C, int NV>
void forward_block(const Conv2dShape& s, const float* x, const float* wp, const float* bp,
                   int64_t l, int64_t f0, float* y) {
  constexpr int P = block_width<NV>();
  const int64_t Wo = s.w.out, KW = s.w.kernel;
  const int64_t full0 = outputs_of_tap(s.w, 0).k0, full1 = outputs_of_tap(s.w, KW - 1).k1;
  for (int64_t ow = 0; ow < Wo;) {
    if (P > 1 && ow >= full0 && ow + P <= full1) {
      forward_cells<C, NV, P>(s, x, wp, bp, l, f0, ow, Taps{0, KW}, y);
      ow += P;
    } else {
      forward_cells<C, NV, 1>(s, x, wp, bp, l, f0, ow, taps(s.w, ow), y);
      ++ow;
    }
  }
}

// Runs Block<NV> over the filters in blocks of kMaxVectors vectors, the last one narrower.
template <template <int> class Block, class... Args>
void over_filter_blocks(int64_t filters, Args&&... args) {
  for (int64_t f0 = 0; f0 < filters; f0 += kMaxVectors * kLanes) {
    switch (std::min<int64_t>(kMaxVectors, (filters - f0 + kLanes - 1) / kLanes)) {
      case 1: Block<1>::run(f0, args...); break;
      case 2: Block<2>::run(f0, args...); break;
      case 3: Block<3>::run(f0, args...); break;
      default: Block<4>::run(f0, args...); break;
    }
  }
}

template <int C>
struct ForwardFor {
  template <int NV>
  struct Block {
    static void run(int64_t f0, const Conv2dShape& s, const float* x, const float* wp,
                    const float* bp, int64_t l, float* y) {
      forward_block<C, NV>(s, x, wp, bp, l, f0, y);
    }
  };
};

template <int C>
void forward(const Conv2dShape& s, const float* x, const float* wp, const float* bp, int64_t l0,
             int64_t l1, float* y) {
  for (int64_t l = l0; l < l1; ++l)
    over_filter_blocks<ForwardFor<C>::template Block>(s.f, s, x, wp, bp, l, y);
}

// dx[n, ih, iw, c] gathers dy[n, oh, ow, :] . w[kh, kw, c, :] over the outputs whose windows
// cover it: each dx cell is written once, by one thread, in a fixed order.
template <int C>
void backward_data(const Conv2dShape& s, const float* dyp, const float* wp, int64_t g0,
                   int64_t g1, float* dx) {
  const int64_t KW = s.w.kernel, Fp = padded_filters(s.f), H = s.h.in, W = s.w.in;
  const int64_t Wo = s.w.out;
  std::vector<Taps> columns(static_cast<size_t>(W));
  for (int64_t iw = 0; iw < W; ++iw) columns[iw] = outputs_covering(s.w, iw);
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t n = g / H, ih = g % H;
    const Taps rows = outputs_covering(s.h, ih);
    for (int64_t iw = 0; iw < W; ++iw) {
      V part[C][kSub] = {};
      for (int64_t oh = rows.k0; oh < rows.k1; ++oh) {
        const int64_t kh = ih + s.h.pad - oh * s.h.stride;
        const float* dy_line = dyp + (n * s.h.out + oh) * Wo * Fp;
        for (int64_t ow = columns[iw].k0; ow < columns[iw].k1; ++ow) {
          const int64_t kw = iw + s.w.pad - ow * s.w.stride;
          const float* d = dy_line + ow * Fp;
          const float* wr = wp + (kh * KW + kw) * C * Fp;
          for (int64_t f = 0; f < Fp; f += kLanes)
            for (int u = 0; u < kSub; ++u) {
              const V dv = load(d + f + u * kVecLanes);
              for (int c = 0; c < C; ++c) part[c][u] += dv * load(wr + c * Fp + f + u * kVecLanes);
            }
        }
      }
      float* out = dx + (g * W + iw) * C;
      for (int c = 0; c < C; ++c) out[c] = sum_lanes(part[c]);
    }
  }
}

// One row (kh, kw, c) of dw for one output line: its x value at output column ow is
// x[off + ow * x_step], real for the columns o.
struct FilterRow {
  int64_t off;
  Taps o;
  float* dw;
};

// T rows of dw, filters [f0, f0 + NV * kLanes), += the products of one output line: each dy
// vector is loaded once for all T rows. Every row still sums its columns in ascending order (the
// columns some rows lack first and last, alone), so the blocking never changes a result.
template <int T, int NV>
void filter_rows(const FilterRow* rows, const float* x, int64_t x_step, const float* dy_line,
                 int64_t Fp, int64_t f0) {
  int64_t j0 = rows[0].o.k0, j1 = rows[0].o.k1;
  for (int t = 1; t < T; ++t) {
    j0 = std::max(j0, rows[t].o.k0);
    j1 = std::min(j1, rows[t].o.k1);
  }
  j1 = std::max(j0, j1);
  constexpr int NW = NV * kSub;
  V acc[T][NW];
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < NW; ++v) acc[t][v] = load(rows[t].dw + f0 + v * kVecLanes);
  const auto alone = [&](int t, int64_t o0, int64_t o1) {
    for (int64_t ow = o0; ow < o1; ++ow) {
      const float xv = x[rows[t].off + ow * x_step];
      for (int v = 0; v < NW; ++v)
        acc[t][v] += xv * load(dy_line + ow * Fp + f0 + v * kVecLanes);
    }
  };
  for (int t = 0; t < T; ++t) alone(t, rows[t].o.k0, std::min(j0, rows[t].o.k1));
  for (int64_t ow = j0; ow < j1; ++ow) {
    V d[NW];
    for (int v = 0; v < NW; ++v) d[v] = load(dy_line + ow * Fp + f0 + v * kVecLanes);
    for (int t = 0; t < T; ++t) {
      const float xv = x[rows[t].off + ow * x_step];
      for (int v = 0; v < NW; ++v) acc[t][v] += xv * d[v];
    }
  }
  for (int t = 0; t < T; ++t) alone(t, std::max(j1, rows[t].o.k0), rows[t].o.k1);
  for (int t = 0; t < T; ++t) std::memcpy(rows[t].dw + f0, acc[t], sizeof acc[t]);
}

// All the rows of one output line, filters [f0, f0 + NV * kLanes): blocks of up to
// block_width<NV>() rows, split evenly; then the line's dy cells added to the bias gradient.
struct FilterFor {
  template <int NV>
  struct Block {
    static void run(int64_t f0, const std::vector<FilterRow>& rows, const float* x,
                    int64_t x_step, const float* dy_line, int64_t Wo, int64_t Fp, float* dbp) {
      const int64_t R = static_cast<int64_t>(rows.size());
      const int64_t blocks = (R + block_width<NV>() - 1) / block_width<NV>();
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t r0 = R * b / blocks, r1 = R * (b + 1) / blocks;
        const FilterRow* r = rows.data() + r0;
        static_assert(kMaxBlock == 8, "one case per block width");
        switch (r1 - r0) {
          case 1: filter_rows<1, NV>(r, x, x_step, dy_line, Fp, f0); break;
          case 2: filter_rows<2, NV>(r, x, x_step, dy_line, Fp, f0); break;
          case 3: filter_rows<3, NV>(r, x, x_step, dy_line, Fp, f0); break;
          case 4: filter_rows<4, NV>(r, x, x_step, dy_line, Fp, f0); break;
          case 5: filter_rows<5, NV>(r, x, x_step, dy_line, Fp, f0); break;
          case 6: filter_rows<6, NV>(r, x, x_step, dy_line, Fp, f0); break;
          case 7: filter_rows<7, NV>(r, x, x_step, dy_line, Fp, f0); break;
          default: filter_rows<8, NV>(r, x, x_step, dy_line, Fp, f0); break;
        }
      }
      constexpr int NW = NV * kSub;
      V acc[NW];
      for (int v = 0; v < NW; ++v) acc[v] = load(dbp + f0 + v * kVecLanes);
      for (int64_t ow = 0; ow < Wo; ++ow)
        for (int v = 0; v < NW; ++v) acc[v] += load(dy_line + ow * Fp + f0 + v * kVecLanes);
      std::memcpy(dbp + f0, acc, sizeof acc);
    }
  };
};

template <int C>
void backward_filter(const Conv2dShape& s, const float* dyp, const float* x, int64_t l0,
                     int64_t l1, float* dwp, float* dbp) {
  const int64_t KW = s.w.kernel, Fp = padded_filters(s.f), W = s.w.in;
  std::fill(dwp, dwp + s.h.kernel * KW * C * Fp, 0.0f);
  std::fill(dbp, dbp + Fp, 0.0f);
  std::vector<Taps> columns(static_cast<size_t>(KW));
  for (int64_t kw = 0; kw < KW; ++kw) columns[kw] = outputs_of_tap(s.w, kw);
  std::vector<FilterRow> rows;
  rows.reserve(static_cast<size_t>(s.h.kernel * KW * C));
  for (int64_t l = l0; l < l1; ++l) {
    const int64_t n = l / s.h.out, oh = l % s.h.out;
    const Taps th = taps(s.h, oh);
    rows.clear();
    for (int64_t kh = th.k0; kh < th.k1; ++kh) {
      const int64_t line = (n * s.h.in + oh * s.h.stride - s.h.pad + kh) * W * C;
      for (int64_t kw = 0; kw < KW; ++kw)
        for (int c = 0; c < C; ++c)
          rows.push_back({line + (kw - s.w.pad) * C + c, columns[kw],
                          dwp + ((kh * KW + kw) * C + c) * Fp});
    }
    over_filter_blocks<FilterFor::Block>(Fp, rows, x, s.w.stride * C, dyp + l * s.w.out * Fp,
                                         s.w.out, Fp, dbp);
  }
}

// Channel counts are template arguments, so the per-channel loops unroll and dx's per-channel
// partial sums stay in registers.
template <template <int> class Kernel, class... Args>
void for_channels(const Conv2dShape& s, Args... args) {
  static_assert(kDirectMaxChannels == 4, "one case per channel count");
  switch (s.c) {
    case 1: Kernel<1>::run(s, args...); break;
    case 2: Kernel<2>::run(s, args...); break;
    case 3: Kernel<3>::run(s, args...); break;
    default: Kernel<4>::run(s, args...); break;
  }
}

template <int C>
struct Forward {
  static void run(const Conv2dShape& s, const float* x, const float* wp, const float* bp,
                  int64_t l0, int64_t l1, float* y) {
    forward<C>(s, x, wp, bp, l0, l1, y);
  }
};
template <int C>
struct BackwardData {
  static void run(const Conv2dShape& s, const float* dyp, const float* wp, int64_t g0,
                  int64_t g1, float* dx) {
    backward_data<C>(s, dyp, wp, g0, g1, dx);
  }
};
template <int C>
struct BackwardFilter {
  static void run(const Conv2dShape& s, const float* dyp, const float* x, int64_t l0, int64_t l1,
                  float* dwp, float* dbp) {
    backward_filter<C>(s, dyp, x, l0, l1, dwp, dbp);
  }
};

constexpr Kernels kKernels{
    for_channels<Forward, const float*, const float*, const float*, int64_t, int64_t, float*>,
    for_channels<BackwardData, const float*, const float*, int64_t, int64_t, float*>,
    for_channels<BackwardFilter, const float*, const float*, int64_t, int64_t, float*, float*>};

}  // namespace
}  // namespace direct
#pragma GCC diagnostic pop
}  // namespace shendu
