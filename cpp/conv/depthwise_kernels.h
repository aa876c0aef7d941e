// The depthwise convolution's kernels for a depth multiplier of 1 (depthwise.cpp reduces the
// others to it), compiled once per instruction set: depthwise.cpp (portable), depthwise_avx2.cpp
// and depthwise_avx512.cpp include this file, each with vectors of its native width. Internal
// linkage keeps the copies apart; depthwise.cpp picks one at run time.
//
// In NHWC every tap of a depthwise window is a product of two contiguous channel vectors (x's and
// the filter's), so the kernels run over channels in spans of up to kSpanVectors native vectors,
// each span's sums held in registers across all the taps of one output (or dx, or dw) cell.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/simd_vec.h"
#include "conv/depthwise.h"

namespace shendu {
namespace depthwise {

struct Kernels {
  // y for output lines [l0, l1) (line = n * Ho + oh).
  void (*forward)(const DepthwiseShape& s, const float* x, const float* w, const float* b,
                  int64_t l0, int64_t l1, float* y);
  // dx for input lines [g0, g1) (g = n * H + ih), overwritten.
  void (*backward_data)(const DepthwiseShape& s, const float* dy, const float* w, int64_t g0,
                        int64_t g1, float* dx);
  // dw (KH * KW * C) and db (C) += the gradients of output lines [l0, l1), line by line.
  void (*backward_filter)(const DepthwiseShape& s, const float* dy, const float* x, int64_t l0,
                          int64_t l1, float* dw, float* db);
};

const Kernels& kernels_generic();  // depthwise.cpp
const Kernels& kernels_avx2();     // depthwise_avx2.cpp
const Kernels& kernels_avx512();   // depthwise_avx512.cpp

}  // namespace depthwise

// The vector helpers pass vectors by value; they have internal linkage and are inlined, so the ABI
// difference GCC warns about never crosses a call boundary.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
namespace depthwise {
namespace {

using simd::kVecLanes;
using simd::load;
using simd::V;
constexpr int kSpanVectors = 4;

// Calls K<V, kSpanVectors>, then K<V, 1>, then K<float, 1> (the channels left over) with the first
// channel of each span, over channels [0, C).
template <template <class, int> class K, class... Args>
void over_channels(int64_t C, const Args&... args) {
  constexpr int64_t kSpan = kSpanVectors * kVecLanes;
  int64_t c0 = 0;
  for (; c0 + kSpan <= C; c0 += kSpan) K<V, kSpanVectors>::run(c0, args...);
  for (; c0 + kVecLanes <= C; c0 += kVecLanes) K<V, 1>::run(c0, args...);
  for (; c0 < C; ++c0) K<float, 1>::run(c0, args...);
}

template <class T>
constexpr int64_t lanes() {
  return sizeof(T) / sizeof(float);
}

// Accumulator registers a block may hold: enough to share each filter load among several output
// cells, few enough to stay in registers (32 with AVX-512, 16 otherwise, some kept for operands).
#if defined(__AVX512F__)
constexpr int kAccumulators = 16;
#else
constexpr int kAccumulators = 8;
#endif

// Output cells per block for spans of NV vectors of T.
template <class T, int NV>
constexpr int block_cells() {
  return std::max(1, kAccumulators / NV);
}

// y cells [ow, ow + P) of line l, channels [c0, c0 + NV lanes): bias, then the taps in (kh, kw)
// order, each filter vector loaded once for the P cells. tw: the kernel columns to sum, which for
// P > 1 must be real for every cell.
template <class T, int NV, int P>
void forward_cells(const DepthwiseShape& s, const float* x, const float* w, const float* b,
                   int64_t l, int64_t ow, Taps tw, int64_t c0, float* y) {
  const int64_t C = s.c, KW = s.w.kernel, W = s.w.in, L = lanes<T>(), sw = s.w.stride;
  const int64_t n = l / s.h.out, oh = l % s.h.out;
  const Taps th = taps(s.h, oh);
  T acc[P][NV];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < NV; ++v) acc[p][v] = b ? load<T>(b + c0 + v * L) : T{};
  for (int64_t kh = th.k0; kh < th.k1; ++kh) {
    const int64_t row = n * s.h.in + oh * s.h.stride - s.h.pad + kh;
    const float* wr = w + kh * KW * C + c0;
    for (int64_t kw = tw.k0; kw < tw.k1; ++kw) {
      T wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = load<T>(wr + kw * C + v * L);
      for (int p = 0; p < P; ++p) {
        const float* xc = x + (row * W + (ow + p) * sw - s.w.pad + kw) * C + c0;
        for (int v = 0; v < NV; ++v) acc[p][v] += load<T>(xc + v * L) * wv[v];
      }
    }
  }
  for (int p = 0; p < P; ++p)
    std::memcpy(y + (l * s.w.out + ow + p) * C + c0, acc[p], sizeof acc[p]);
}

// Output line l, channels [c0, c0 + NV lanes): blocks of cells whose windows lie wholly inside
// the row, single cells at the borders.
template <class T, int NV>
struct ForwardLine {
  static void run(int64_t c0, const DepthwiseShape& s, const float* x, const float* w,
                  const float* b, int64_t l, float* y) {
    constexpr int P = block_cells<T, NV>();
    const int64_t Wo = s.w.out, KW = s.w.kernel;
    const int64_t full0 = outputs_of_tap(s.w, 0).k0, full1 = outputs_of_tap(s.w, KW - 1).k1;
    for (int64_t ow = 0; ow < Wo;) {
      if (P > 1 && ow >= full0 && ow + P <= full1) {
        forward_cells<T, NV, P>(s, x, w, b, l, ow, Taps{0, KW}, c0, y);
        ow += P;
      } else {
        forward_cells<T, NV, 1>(s, x, w, b, l, ow, taps(s.w, ow), c0, y);
        ++ow;
      }
    }
  }
};

void forward(const DepthwiseShape& s, const float* x, const float* w, const float* b, int64_t l0,
             int64_t l1, float* y) {
  for (int64_t l = l0; l < l1; ++l) over_channels<ForwardLine>(s.c, s, x, w, b, l, y);
}

// dx cell (g, iw), channels [c0, c0 + NV lanes): the outputs whose windows cover it, in (oh, ow)
// order, each times its tap's filter.
template <class T, int NV>
struct DataCell {
  static void run(int64_t c0, const DepthwiseShape& s, const float* dy, const float* w,
                  int64_t g, int64_t iw, float* dx) {
    const int64_t C = s.c, KW = s.w.kernel, H = s.h.in, Wo = s.w.out, L = lanes<T>();
    const int64_t n = g / H, ih = g % H;
    const Taps rows = outputs_covering(s.h, ih), cols = outputs_covering(s.w, iw);
    T acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = T{};
    for (int64_t oh = rows.k0; oh < rows.k1; ++oh) {
      const int64_t kh = ih + s.h.pad - oh * s.h.stride;
      const float* dyr = dy + (n * s.h.out + oh) * Wo * C + c0;
      const float* wr = w + kh * KW * C + c0;
      for (int64_t ow = cols.k0; ow < cols.k1; ++ow) {
        const int64_t kw = iw + s.w.pad - ow * s.w.stride;
        for (int v = 0; v < NV; ++v)
          acc[v] += load<T>(dyr + ow * C + v * L) * load<T>(wr + kw * C + v * L);
      }
    }
    std::memcpy(dx + (g * s.w.in + iw) * C + c0, acc, sizeof acc);
  }
};

void backward_data(const DepthwiseShape& s, const float* dy, const float* w, int64_t g0,
                   int64_t g1, float* dx) {
  for (int64_t g = g0; g < g1; ++g)
    for (int64_t iw = 0; iw < s.w.in; ++iw) over_channels<DataCell>(s.c, s, dy, w, g, iw, dx);
}

// dw row (kh, kw), channels [c0, c0 + NV lanes), += the products of output line l: x at the tap's
// cell times dy, over the output columns whose tap kw is real, in ow order.
template <class T, int NV>
struct FilterTap {
  static void run(int64_t c0, const DepthwiseShape& s, const float* x_line, const float* dy_line,
                  Taps cols, int64_t kw, float* dw_row) {
    const int64_t C = s.c, L = lanes<T>(), step = s.w.stride * C;
    T acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = load<T>(dw_row + c0 + v * L);
    for (int64_t ow = cols.k0; ow < cols.k1; ++ow) {
      const float* xc = x_line + ow * step + (kw - s.w.pad) * C + c0;
      for (int v = 0; v < NV; ++v)
        acc[v] += load<T>(xc + v * L) * load<T>(dy_line + ow * C + c0 + v * L);
    }
    std::memcpy(dw_row + c0, acc, sizeof acc);
  }
};

// db, channels [c0, c0 + NV lanes), += dy line summed in ow order.
template <class T, int NV>
struct BiasLine {
  static void run(int64_t c0, const DepthwiseShape& s, const float* dy_line, float* db) {
    const int64_t C = s.c, L = lanes<T>();
    T acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = load<T>(db + c0 + v * L);
    for (int64_t ow = 0; ow < s.w.out; ++ow)
      for (int v = 0; v < NV; ++v) acc[v] += load<T>(dy_line + ow * C + c0 + v * L);
    std::memcpy(db + c0, acc, sizeof acc);
  }
};

void backward_filter(const DepthwiseShape& s, const float* dy, const float* x, int64_t l0,
                     int64_t l1, float* dw, float* db) {
  const int64_t C = s.c, KW = s.w.kernel, W = s.w.in;
  for (int64_t l = l0; l < l1; ++l) {
    const int64_t n = l / s.h.out, oh = l % s.h.out;
    const Taps th = taps(s.h, oh);
    const float* dy_line = dy + l * s.w.out * C;
    for (int64_t kh = th.k0; kh < th.k1; ++kh) {
      const float* x_line = x + (n * s.h.in + oh * s.h.stride - s.h.pad + kh) * W * C;
      for (int64_t kw = 0; kw < KW; ++kw)
        over_channels<FilterTap>(C, s, x_line, dy_line, outputs_of_tap(s.w, kw), kw,
                                 dw + (kh * KW + kw) * C);
    }
    over_channels<BiasLine>(C, s, dy_line, db);
  }
}

constexpr Kernels kKernels{forward, backward_data, backward_filter};

}  // namespace
}  // namespace depthwise
#pragma GCC diagnostic pop
}  // namespace shendu
