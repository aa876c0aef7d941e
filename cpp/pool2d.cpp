#include "pool2d.h"

#include <atomic>
#include <cstring>

#include "cpu_features.h"
#include "parallel.h"
#include "pool2d_isa.h"

namespace shendu {

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int64_t* argmax) {
  const Isa isa = active_isa();
  const MaxPoolLineFn line_fn = isa == Isa::Avx512 ? max_pool_line_avx512()
                                : isa == Isa::Avx2 ? max_pool_line_avx2()
                                                   : max_pool_line;
  parallel_for(s.n * s.h.out, s.w.out * s.h.kernel * s.w.kernel * s.c, [&](int64_t b, int64_t e) {
    for (int64_t l = b; l < e; ++l) line_fn(s, x, l, y, argmax);
  });
}

bool max_pool2d_backward(int64_t n, int64_t in_plane, int64_t out_plane, int64_t c,
                         const float* dy, const int64_t* argmax, float* dx) {
  std::atomic<bool> in_range{true};
  const MaxPoolScatterFn scatter =
      active_isa() == Isa::Avx512 ? max_pool_scatter_avx512() : max_pool_scatter;
  // One image per task: windows may overlap, so scatters from one image stay on one thread.
  parallel_for(n, (in_plane + out_plane) * c, [&](int64_t b, int64_t e) {
    // The range check rides along the scatter (a separate pass over argmax cost a quarter of
    // the op); out-of-range values are skipped and reported, never written through.
    bool ok = true;
    for (int64_t i = b; i < e; ++i) {
      float* dx_img = dx + i * in_plane * c;
      std::memset(dx_img, 0, sizeof(float) * in_plane * c);
      ok &= scatter(in_plane, out_plane, c, dy + i * out_plane * c, argmax + i * out_plane * c,
                    dx_img);
    }
    if (!ok) in_range.store(false, std::memory_order_relaxed);
  });
  return in_range.load(std::memory_order_relaxed);
}

void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y) {
  const int64_t C = s.c, W = s.w.in, Ho = s.h.out, Wo = s.w.out;
  parallel_for(s.n * Ho, Wo * s.h.kernel * s.w.kernel * C, [&](int64_t b, int64_t e) {
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
  parallel_for(s.n * H, ((s.h.kernel + SH - 1) / SH) * Wo * s.w.kernel * C,
               [&](int64_t b, int64_t e) {
    for (int64_t g = b; g < e; ++g) {
      const int64_t n = g / H, ih = g % H;
      float* dx_line = dx + g * W * C;
      std::memset(dx_line, 0, sizeof(float) * W * C);
      // Windows of output line oh cover input lines [oh * SH - pad, oh * SH - pad + kernel).
      const int64_t lowest = ih + s.h.pad - s.h.kernel + 1;
      const int64_t oh0 = lowest <= 0 ? 0 : (lowest + SH - 1) / SH;
      const int64_t oh1 = std::min(Ho, (ih + s.h.pad) / SH + 1);
      for (int64_t oh = oh0; oh < oh1; ++oh) {
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
