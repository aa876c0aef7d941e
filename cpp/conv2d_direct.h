// Direct convolution (no im2col, no GEMM) for layers with few input channels, compiled once per
// instruction set: conv2d.cpp (portable), conv2d_direct_avx2.cpp and conv2d_direct_avx512.cpp
// include this file, and GCC lowers the 16-float vectors to 4 SSE, 2 AVX2 or 1 AVX-512 register.
// Internal linkage keeps the per-ISA copies apart; conv2d.cpp picks one at run time.
//
// Why: with C = 1..4 input channels the im2col matrix has only KH * KW * C columns, so im2col
// copies runs of a few floats per cell and the GEMMs have a tiny inner (forward, dw) or output
// (dx: 9 columns for a 3x3 kernel on one channel) dimension, where packing dominates. Here every
// product is a broadcast of one x value times a vector of filters, accumulated in registers.
//
// Filters (wp, bp), dy and dw are laid out with F padded to Fp, a multiple of kLanes, with zeros
// in the padding, so every load is a whole vector; only the y stores are trimmed to F.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "conv2d.h"

namespace shendu {

constexpr int64_t kDirectMaxChannels = 4;
constexpr int64_t kLanes = 16;

inline int64_t padded_filters(int64_t f) { return (f + kLanes - 1) / kLanes * kLanes; }

struct DirectConv {
  // y for output lines [l0, l1) (line = n * Ho + oh).
  void (*forward)(const Conv2dShape& s, const float* x, const float* wp, const float* bp,
                  int64_t l0, int64_t l1, float* y);
  // dx for input lines [g0, g1) (g = n * H + ih), overwritten; dyp is dy with rows of Fp.
  void (*backward_data)(const Conv2dShape& s, const float* dyp, const float* wp, int64_t g0,
                        int64_t g1, float* dx);
  // dwp (KH * KW * C rows of Fp) = the weight gradient of output lines [l0, l1).
  void (*backward_filter)(const Conv2dShape& s, const float* dyp, const float* x, int64_t l0,
                          int64_t l1, float* dwp);
};

const DirectConv& direct_conv_avx2();
const DirectConv& direct_conv_avx512();

// The vector helpers pass 64-byte vectors by value; they have internal linkage and are inlined, so
// the ABI difference GCC warns about for non-AVX-512 builds never crosses a call boundary.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
namespace {
namespace direct {

typedef float V __attribute__((vector_size(kLanes * sizeof(float))));
// Filters per register block: 4 accumulators of 16 (64 filters) per output cell.
constexpr int kMaxVectors = 4;

inline V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Lanes summed as a tree of halves, in the same order on every ISA (shuffles, not a spill to
// memory and 15 scalar adds: this runs once per dx cell).
inline float sum_lanes(V v) {
  typedef float V8 __attribute__((vector_size(8 * sizeof(float))));
  typedef float V4 __attribute__((vector_size(4 * sizeof(float))));
  const V8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
               __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const V4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return (b[0] + b[2]) + (b[1] + b[3]);
}

// Output line l, filters [f0, f0 + NV * kLanes) (trimmed to F when stored), C channels.
template <int C, int NV>
void forward_block(const Conv2dShape& s, const float* x, const float* wp, const float* bp,
                   int64_t l, int64_t f0, float* y) {
  const int64_t KW = s.w.kernel, F = s.f, Fp = padded_filters(F), W = s.w.in;
  const int64_t n = l / s.h.out, oh = l % s.h.out;
  const Taps th = taps(s.h, oh);
  const int64_t stored = std::min<int64_t>(NV * kLanes, F - f0);
  for (int64_t ow = 0; ow < s.w.out; ++ow) {
    const Taps tw = taps(s.w, ow);
    V acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = load(bp + f0 + v * kLanes);
    for (int64_t kh = th.k0; kh < th.k1; ++kh) {
      const float* xr = x + ((n * s.h.in + oh * s.h.stride - s.h.pad + kh) * W +
                             ow * s.w.stride - s.w.pad) * C;
      const float* wr = wp + kh * KW * C * Fp + f0;
      for (int64_t kw = tw.k0; kw < tw.k1; ++kw)
        for (int c = 0; c < C; ++c) {
          const float xv = xr[kw * C + c];
          const float* wv = wr + (kw * C + c) * Fp;
          for (int v = 0; v < NV; ++v) acc[v] += xv * load(wv + v * kLanes);
        }
    }
    float* out = y + (l * s.w.out + ow) * F + f0;
    // A constant size lets the whole-block store compile to vector moves, not a memcpy call.
    if (stored == NV * kLanes)
      std::memcpy(out, acc, sizeof acc);
    else
      std::memcpy(out, acc, sizeof(float) * stored);
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

// The outputs [o0, o1) whose windows cover input position i.
inline Taps covering_outputs(const Axis& a, int64_t i) {
  const int64_t lowest = i + a.pad - a.kernel + 1;  // o * stride >= lowest
  const int64_t o0 = lowest <= 0 ? 0 : (lowest + a.stride - 1) / a.stride;
  return {o0, std::max(o0, std::min(a.out, (i + a.pad) / a.stride + 1))};
}

// dx[n, ih, iw, c] gathers dy[n, oh, ow, :] . w[kh, kw, c, :] over the outputs whose windows
// cover it: each dx cell is written once, by one thread, in a fixed order.
template <int C>
void backward_data(const Conv2dShape& s, const float* dyp, const float* wp, int64_t g0,
                   int64_t g1, float* dx) {
  const int64_t KW = s.w.kernel, Fp = padded_filters(s.f), H = s.h.in, W = s.w.in;
  const int64_t Wo = s.w.out;
  std::vector<Taps> columns(static_cast<size_t>(W));
  for (int64_t iw = 0; iw < W; ++iw) columns[iw] = covering_outputs(s.w, iw);
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t n = g / H, ih = g % H;
    const Taps rows = covering_outputs(s.h, ih);
    for (int64_t iw = 0; iw < W; ++iw) {
      V part[C] = {};
      for (int64_t oh = rows.k0; oh < rows.k1; ++oh) {
        const int64_t kh = ih + s.h.pad - oh * s.h.stride;
        const float* dy_line = dyp + (n * s.h.out + oh) * Wo * Fp;
        for (int64_t ow = columns[iw].k0; ow < columns[iw].k1; ++ow) {
          const int64_t kw = iw + s.w.pad - ow * s.w.stride;
          const float* d = dy_line + ow * Fp;
          const float* wr = wp + (kh * KW + kw) * C * Fp;
          for (int64_t f = 0; f < Fp; f += kLanes) {
            const V dv = load(d + f);
            for (int c = 0; c < C; ++c) part[c] += dv * load(wr + c * Fp + f);
          }
        }
      }
      float* out = dx + (g * W + iw) * C;
      for (int c = 0; c < C; ++c) out[c] = sum_lanes(part[c]);
    }
  }
}

// One row (kh, kw, c) of dw, filters [f0, f0 + NV * kLanes): the products of one output line,
// accumulated in registers over its outputs.
template <int C>
struct FilterFor {
  template <int NV>
  struct Block {
    static void run(int64_t f0, const Conv2dShape& s, const float* dy_line, const float* x_line,
                    int64_t kw, int c, float* dw_row) {
    const int64_t Fp = padded_filters(s.f);
    const Taps o = outputs_of_tap(s.w, kw);
    V acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = load(dw_row + f0 + v * kLanes);
    for (int64_t ow = o.k0; ow < o.k1; ++ow) {
      const float xv = x_line[(ow * s.w.stride - s.w.pad + kw) * C + c];
      const float* d = dy_line + ow * Fp + f0;
      for (int v = 0; v < NV; ++v) acc[v] += xv * load(d + v * kLanes);
    }
    std::memcpy(dw_row + f0, acc, sizeof acc);
    }
  };
};

template <int C>
void backward_filter(const Conv2dShape& s, const float* dyp, const float* x, int64_t l0,
                     int64_t l1, float* dwp) {
  const int64_t KW = s.w.kernel, Fp = padded_filters(s.f), W = s.w.in;
  std::fill(dwp, dwp + s.h.kernel * KW * C * Fp, 0.0f);
  for (int64_t l = l0; l < l1; ++l) {
    const int64_t n = l / s.h.out, oh = l % s.h.out;
    const Taps th = taps(s.h, oh);
    const float* dy_line = dyp + l * s.w.out * Fp;
    for (int64_t kh = th.k0; kh < th.k1; ++kh) {
      const float* x_line = x + (n * s.h.in + oh * s.h.stride - s.h.pad + kh) * W * C;
      for (int64_t kw = 0; kw < KW; ++kw)
        for (int c = 0; c < C; ++c)
          over_filter_blocks<FilterFor<C>::template Block>(Fp, s, dy_line, x_line, kw, c,
                                          dwp + ((kh * KW + kw) * C + c) * Fp);
    }
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
                  float* dwp) {
    backward_filter<C>(s, dyp, x, l0, l1, dwp);
  }
};

constexpr DirectConv kKernels{
    for_channels<Forward, const float*, const float*, const float*, int64_t, int64_t, float*>,
    for_channels<BackwardData, const float*, const float*, int64_t, int64_t, float*>,
    for_channels<BackwardFilter, const float*, const float*, int64_t, int64_t, float*>};

}  // namespace direct
}  // namespace
#pragma GCC diagnostic pop
}  // namespace shendu
