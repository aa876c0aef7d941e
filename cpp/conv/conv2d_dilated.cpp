#include "conv/conv2d_dilated.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/parallel.h"

namespace shendu {

namespace {

// Phase images: (N * dh * dw, rows, cols, C), image (n, a, b) at index (n * dh + a) * dw + b.
struct Phases {
  int64_t n, dh, dw, rows, cols, c;
  int64_t images() const { return n * dh * dw; }
};

// The undilated valid convolution's axis over the phase images: each phase has ceil(out / d)
// outputs (some phases one more than the outputs need; to_phases gives them zero dy, from_phases
// drops their y), and so kernel - 1 more inputs.
Axis phase_axis(const Axis& a, int64_t d) {
  const int64_t out = (a.out + d - 1) / d;
  return {out + a.kernel - 1, a.kernel, 1, 0, out};
}

// s (a Conv2dShape or DepthwiseShape) over the phase images of its batch.
template <class Shape>
Shape over_phases(const Shape& s, Dilation d) {
  Shape p = s;
  p.n = s.n * d.h * d.w;
  p.h = phase_axis(s.h, d.h);
  p.w = phase_axis(s.w, d.w);
  return p;
}

// dst (phases p) = src (p.n, H, W, p.c) cell (a + i dh - top, b + j dw - left) at phase (a, b)
// row i, column j; zero where that lies outside src.
void to_phases(const float* src, int64_t H, int64_t W, int64_t top, int64_t left,
               const Phases& p, float* dst) {
  const int64_t lines = p.images() * p.rows, C = p.c;
  parallel_for(lines, p.cols * C, [&](int64_t l0, int64_t l1) {
    for (int64_t l = l0; l < l1; ++l) {
      const int64_t image = l / p.rows, i = l % p.rows;
      const int64_t n = image / (p.dh * p.dw), a = image / p.dw % p.dh, b = image % p.dw;
      const int64_t h = a + i * p.dh - top;
      float* out = dst + l * p.cols * C;
      if (h < 0 || h >= H) {
        std::fill(out, out + p.cols * C, 0.0f);
        continue;
      }
      const float* line = src + (n * H + h) * W * C;
      for (int64_t j = 0; j < p.cols; ++j) {
        const int64_t w = b + j * p.dw - left;
        if (w < 0 || w >= W)
          std::fill(out + j * C, out + (j + 1) * C, 0.0f);
        else
          std::memcpy(out + j * C, line + w * C, sizeof(float) * C);
      }
    }
  });
}

// dst (p.n, H, W, p.c) cell (h, w) = src (phases p) at phase ((h + top) % dh, (w + left) % dw),
// row (h + top) / dh, column (w + left) / dw: to_phases's inverse on the cells it reads.
void from_phases(const float* src, const Phases& p, int64_t H, int64_t W, int64_t top,
                 int64_t left, float* dst) {
  const int64_t C = p.c;
  parallel_for(p.n * H, W * C, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t n = g / H, h = g % H + top;
      const int64_t a = h % p.dh, i = h / p.dh;
      for (int64_t w = 0; w < W; ++w) {
        const int64_t image = (n * p.dh + a) * p.dw + (w + left) % p.dw;
        const float* cell = src + ((image * p.rows + i) * p.cols + (w + left) / p.dw) * C;
        std::memcpy(dst + (g * W + w) * C, cell, sizeof(float) * C);
      }
    }
  });
}

int64_t size(const Phases& p) { return p.images() * p.rows * p.cols * p.c; }

// run(ps, xs, ys) computes the undilated convolution ps of phase images xs (c_in channels) into
// ys (c_out channels).
template <class Shape, class Run>
void dilated_forward(const Shape& s, Dilation d, int64_t c_in, int64_t c_out, const float* x,
                     float* y, Run&& run) {
  const Shape ps = over_phases(s, d);
  const Phases xp{s.n, d.h, d.w, ps.h.in, ps.w.in, c_in};
  const Phases yp{s.n, d.h, d.w, ps.h.out, ps.w.out, c_out};
  std::vector<float> xs(static_cast<size_t>(size(xp))), ys(static_cast<size_t>(size(yp)));
  to_phases(x, s.h.in, s.w.in, s.h.pad, s.w.pad, xp, xs.data());
  run(ps, xs.data(), ys.data());
  from_phases(ys.data(), yp, s.h.out, s.w.out, 0, 0, y);
}

// run(ps, dys, xs, dxs) computes the undilated convolution's gradients (dxs null without dx).
template <class Shape, class Run>
void dilated_backward(const Shape& s, Dilation d, int64_t c_in, int64_t c_out, const float* dy,
                      const float* x, float* dx, Run&& run) {
  const Shape ps = over_phases(s, d);
  const Phases xp{s.n, d.h, d.w, ps.h.in, ps.w.in, c_in};
  const Phases yp{s.n, d.h, d.w, ps.h.out, ps.w.out, c_out};
  std::vector<float> xs(static_cast<size_t>(size(xp))), dys(static_cast<size_t>(size(yp)));
  to_phases(x, s.h.in, s.w.in, s.h.pad, s.w.pad, xp, xs.data());
  to_phases(dy, s.h.out, s.w.out, 0, 0, yp, dys.data());
  std::vector<float> dxs(static_cast<size_t>(dx ? size(xp) : 0));
  run(ps, dys.data(), xs.data(), dx ? dxs.data() : nullptr);
  if (dx) from_phases(dxs.data(), xp, s.h.in, s.w.in, s.h.pad, s.w.pad, dx);
}

}  // namespace

void conv2d_dilated_forward(const Conv2dShape& s, Dilation d, const float* x, const float* w,
                            const float* b, float* y) {
  dilated_forward(s, d, s.c, s.f, x, y, [&](const Conv2dShape& ps, const float* xs, float* ys) {
    conv2d_forward(ps, xs, w, b, ys);
  });
}

void conv2d_dilated_backward(const Conv2dShape& s, Dilation d, const float* dy, const float* x,
                             const float* w, float* dx, float* dw, float* db) {
  dilated_backward(s, d, s.c, s.f, dy, x, dx,
                   [&](const Conv2dShape& ps, const float* dys, const float* xs, float* dxs) {
                     conv2d_backward(ps, dys, xs, w, dxs, dw, db);
                   });
}

void depthwise_dilated_forward(const DepthwiseShape& s, Dilation d, const float* x,
                               const float* w, const float* b, float* y) {
  dilated_forward(s, d, s.c, s.c * s.m, x, y,
                  [&](const DepthwiseShape& ps, const float* xs, float* ys) {
                    depthwise_forward(ps, xs, w, b, ys);
                  });
}

void depthwise_dilated_backward(const DepthwiseShape& s, Dilation d, const float* dy,
                                const float* x, const float* w, float* dx, float* dw, float* db) {
  dilated_backward(s, d, s.c, s.c * s.m, dy, x, dx,
                   [&](const DepthwiseShape& ps, const float* dys, const float* xs, float* dxs) {
                     depthwise_backward(ps, dys, xs, w, dxs, dw, db);
                   });
}

}  // namespace shendu
