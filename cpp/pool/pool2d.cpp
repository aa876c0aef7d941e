#include "pool/pool2d.h"

#include <atomic>
#include <cstring>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "pool/pool2d_kernels.h"

namespace shendu {

namespace pool2d {

template <class Index>
const Kernels<Index>& kernels_generic() {
  return kKernels<Index>;
}

}  // namespace pool2d

namespace {

template <class Index>
const pool2d::Kernels<Index>& active_max_pool_kernels() {
  return for_isa(pool2d::kernels_generic<Index>, pool2d::kernels_avx2<Index>,
                 pool2d::kernels_avx512<Index>);
}

}  // namespace

template <class Index>
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, Index* argmax) {
  const auto line_fn = active_max_pool_kernels<Index>().forward_line;
  parallel_for(s.n * s.h.out, work_product({s.w.out, s.h.kernel, s.w.kernel, s.c}),
               [&](int64_t b, int64_t e) {
                 for (int64_t l = b; l < e; ++l) line_fn(s, x, l, y, argmax);
               });
}

// Runs line_fn(l) for l in [0, lines) in parallel and returns the smallest stray index any line
// found (each line reports its first): the same value whatever the chunking, so the error
// message does not depend on the thread count.
template <class LineFn>
int64_t first_stray_of_lines(int64_t lines, int64_t work_per_line, LineFn&& line_fn) {
  std::atomic<int64_t> stray{-1};
  parallel_for(lines, work_per_line, [&](int64_t b, int64_t e) {
    int64_t first = -1;
    for (int64_t l = b; l < e; ++l) {
      const int64_t found = line_fn(l);
      if (found >= 0 && (first < 0 || found < first)) first = found;
    }
    if (first < 0) return;
    int64_t seen = stray.load(std::memory_order_relaxed);
    while ((seen < 0 || first < seen) &&
           !stray.compare_exchange_weak(seen, first, std::memory_order_relaxed)) {
    }
  });
  return stray.load(std::memory_order_relaxed);
}

template <class Index>
int64_t max_pool2d_backward(const Pool2dShape& s, const float* dy, const Index* argmax,
                            float* dx) {
  const pool2d::Kernels<Index>& k = active_max_pool_kernels<Index>();
  if (pool2d::tiles_x(s))
    return first_stray_of_lines(s.n * s.h.out, work_product({s.h.kernel, s.w.in, s.c}),
                                [&](int64_t l) {
      return k.backward_tiles(s, dy, argmax, l, dx);
    });
  const int64_t rows_per_line = (s.h.kernel + s.h.stride - 1) / s.h.stride;
  return first_stray_of_lines(
      s.n * s.h.in, (s.w.in + rows_per_line * s.w.out * s.w.kernel) * s.c,
      [&](int64_t l) { return k.backward_line(s, dy, argmax, l, dx); });
}

template void max_pool2d_forward(const Pool2dShape&, const float*, float*, uint8_t*);
template void max_pool2d_forward(const Pool2dShape&, const float*, float*, uint16_t*);
template int64_t max_pool2d_backward(const Pool2dShape&, const float*, const uint8_t*, float*);
template int64_t max_pool2d_backward(const Pool2dShape&, const float*, const uint16_t*, float*);

void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  const int64_t C = s.c, W = s.w.in, Ho = s.h.out, Wo = s.w.out;
  parallel_for(s.n * Ho, work_product({Wo, s.h.kernel, s.w.kernel, C}), [&](int64_t b, int64_t e) {
    for (int64_t l = b; l < e; ++l) {
      const int64_t n = l / Ho, oh = l % Ho;
      const Taps th = taps(s.h, oh);
      const int64_t ih0 = oh * s.h.stride - s.h.pad + th.k0, ih1 = ih0 + th.k1 - th.k0;
      const float* x_img = x + n * s.h.in * W * C;
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const Taps tw = taps(s.w, ow);
        const int64_t iw0 = ow * s.w.stride - s.w.pad + tw.k0, iw1 = iw0 + tw.k1 - tw.k0;
        float* out = y + (l * Wo + ow) * C;
        for (int64_t c = 0; c < C; ++c) out[c] = 0.0f;
        for (int64_t ih = ih0; ih < ih1; ++ih)
          for (int64_t iw = iw0; iw < iw1; ++iw) {
            const float* v = x_img + (ih * W + iw) * C;
            for (int64_t c = 0; c < C; ++c) out[c] += v[c];
          }
        const float count = static_cast<float>((ih1 - ih0) * (iw1 - iw0));
        for (int64_t c = 0; c < C; ++c) out[c] /= count;
      }
    }
  });
}

void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx) {
  const int64_t C = s.c, H = s.h.in, W = s.w.in, Ho = s.h.out, Wo = s.w.out;
  const int64_t SH = s.h.stride;
  // Each dx line (n, ih) gathers from the output lines whose windows cover it, in a fixed order:
  // no two threads write one line, and the sums do not depend on the thread count.
  parallel_for(s.n * H, work_product({(s.h.kernel + SH - 1) / SH, Wo, s.w.kernel, C}),
               [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g) {
      const int64_t n = g / H, ih = g % H;
      float* dx_line = dx + g * W * C;
      std::memset(dx_line, 0, sizeof(float) * W * C);
      const Taps rows = outputs_covering(s.h, ih);
      for (int64_t oh = rows.k0; oh < rows.k1; ++oh) {
        const Taps th = taps(s.h, oh);
        const float* g_line = dy + (n * Ho + oh) * Wo * C;
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const Taps tw = taps(s.w, ow);
          const float scale = 1.0f / static_cast<float>((th.k1 - th.k0) * (tw.k1 - tw.k0));
          const float* grad = g_line + ow * C;
          float* d = dx_line + (ow * s.w.stride - s.w.pad + tw.k0) * C;
          for (int64_t iw = tw.k0; iw < tw.k1; ++iw, d += C)
            for (int64_t c = 0; c < C; ++c) d[c] += grad[c] * scale;
        }
      }
    }
  });
}

}  // namespace shendu
