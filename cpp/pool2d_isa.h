// The max-pooling line kernel, compiled once per instruction set: pool2d.cpp (portable),
// pool2d_avx2.cpp and pool2d_avx512.cpp include this file, and their compile flags let the
// compiler vectorize the channel loop (a float compare driving float and int64 selects, which
// baseline SSE2 cannot do; AVX-512 made max_pool2d 10x faster). Internal linkage keeps the
// per-ISA copies apart; pool2d.cpp picks one at run time. The backward scatter is shared here too:
// only pool2d_avx512.cpp replaces it (with gather/scatter instructions).
#pragma once
#include <cstdint>
#include <cstring>

#include "pool2d.h"

namespace shendu {

// Computes output line `line` = n * Ho + oh of y and argmax.
using MaxPoolLineFn = void (*)(const Pool2dShape& s, const float* x, int64_t line, float* y,
                               int64_t* argmax);
MaxPoolLineFn max_pool_line_avx2();
MaxPoolLineFn max_pool_line_avx512();

// Adds one image's dy (out_plane cells x c) into its zeroed dx (in_plane cells x c) at the argmax
// cells; skips out-of-range argmax values and returns false if there were any.
using MaxPoolScatterFn = bool (*)(int64_t in_plane, int64_t out_plane, int64_t c,
                                  const float* dy, const int64_t* argmax, float* dx);
// AVX-512 has gather and scatter instructions; the other builds use max_pool_scatter.
MaxPoolScatterFn max_pool_scatter_avx512();

namespace {

// Folds one cell v into the running maximum: strictly greater keeps the first of equal values,
// and a NaN replaces any number (so the first NaN wins and propagates). Written as one
// branch-free mask, "b is a number and not u <= b": with || the compiler branched on the
// data, which mispredicts on every other cell of random input.
inline void max_step(float* __restrict best, int64_t* __restrict at, const float* __restrict v,
                     int64_t cell, int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    const float b = best[c], u = v[c];
    const bool take = (b == b) & !(u <= b);
    best[c] = take ? u : b;
    at[c] = take ? cell : at[c];
  }
}

inline void max_pool_line(const Pool2dShape& s, const float* x, int64_t line, float* y,
                          int64_t* argmax) {
  const int64_t C = s.c, W = s.w.in, Wo = s.w.out;
  const int64_t n = line / s.h.out, oh = line % s.h.out;
  const Taps th = taps(s.h, oh);
  const int64_t ih0 = oh * s.h.stride - s.h.pad + th.k0, ih1 = ih0 + th.k1 - th.k0;
  const float* x_img = x + n * s.h.in * W * C;
  for (int64_t ow = 0; ow < Wo; ++ow) {
    const Taps tw = taps(s.w, ow);
    const int64_t iw0 = ow * s.w.stride - s.w.pad + tw.k0, iw1 = iw0 + tw.k1 - tw.k0;
    float* best = y + (line * Wo + ow) * C;
    int64_t* at = argmax + (line * Wo + ow) * C;
    // Windows always hold a real cell: the first one seeds the running maximum.
    const int64_t first = ih0 * W + iw0;
    std::memcpy(best, x_img + first * C, sizeof(float) * C);
    for (int64_t c = 0; c < C; ++c) at[c] = first;
    for (int64_t ih = ih0; ih < ih1; ++ih)
      for (int64_t iw = ih == ih0 ? iw0 + 1 : iw0; iw < iw1; ++iw)
        max_step(best, at, x_img + (ih * W + iw) * C, ih * W + iw, C);
  }
}

inline bool max_pool_scatter(int64_t in_plane, int64_t out_plane, int64_t c,
                             const float* __restrict dy, const int64_t* __restrict argmax,
                             float* __restrict dx) {
  bool ok = true;
  for (int64_t o = 0; o < out_plane; ++o, dy += c, argmax += c)
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t cell = argmax[ch];
      const bool valid = static_cast<uint64_t>(cell) < static_cast<uint64_t>(in_plane);
      ok &= valid;
      if (valid) dx[cell * c + ch] += dy[ch];
    }
  return ok;
}

}  // namespace
}  // namespace shendu
