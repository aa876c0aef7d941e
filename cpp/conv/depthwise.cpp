#include "conv/depthwise.h"

#include <algorithm>
#include <vector>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "conv/depthwise_kernels.h"

namespace shendu {

namespace depthwise {
const Kernels& kernels_generic() { return kKernels; }
}  // namespace depthwise

namespace {

const depthwise::Kernels& kernels() {
  return for_isa(depthwise::kernels_generic, depthwise::kernels_avx2, depthwise::kernels_avx512);
}

// The kernels take a depth multiplier of 1. With M > 1, x's channels repeated M times each
// (channel c * M + m = x channel c) make that case of it: the same products, in the same order.
DepthwiseShape single(const DepthwiseShape& s) { return {s.n, s.c * s.m, 1, s.h, s.w}; }

std::vector<float> repeat_channels(const DepthwiseShape& s, const float* x) {
  const int64_t cells = s.n * s.h.in * s.w.in, C = s.c, M = s.m;
  std::vector<float> out(static_cast<size_t>(cells * C * M));
  parallel_for(cells, C * M, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < C; ++c)
        std::fill_n(out.data() + (r * C + c) * M, M, x[r * C + c]);
  });
  return out;
}

// With strides 1, dx is the forward convolution of dy by the kernel turned 180 degrees, over dy
// padded by kernel - 1 - pad on the leading side: the forward's blocked kernel then serves it.
// Returns the shape of that convolution (dy's geometry in, x's out), wf the turned kernel.
DepthwiseShape turned(const DepthwiseShape& s1, const float* w, std::vector<float>& wf) {
  const int64_t KH = s1.h.kernel, KW = s1.w.kernel, C = s1.c;
  wf.resize(static_cast<size_t>(KH * KW * C));
  for (int64_t kh = 0; kh < KH; ++kh)
    for (int64_t kw = 0; kw < KW; ++kw)
      std::copy_n(w + ((KH - 1 - kh) * KW + KW - 1 - kw) * C, C, wf.data() + (kh * KW + kw) * C);
  return {s1.n, C, 1, Axis{s1.h.out, KH, 1, KH - 1 - s1.h.pad, s1.h.in},
          Axis{s1.w.out, KW, 1, KW - 1 - s1.w.pad, s1.w.in}};
}

// Fixed groups of whole images, as conv2d: each sums its dw and db into a partial, and the
// partials are added in group order, so the result does not depend on the thread count.
constexpr int64_t kGroups = 4;

}  // namespace

void depthwise_forward(const DepthwiseShape& s, const float* x, const float* w, const float* b,
                       float* y) {
  const DepthwiseShape s1 = single(s);
  const std::vector<float> repeated = s.m > 1 ? repeat_channels(s, x) : std::vector<float>();
  const float* x1 = s.m > 1 ? repeated.data() : x;
  const depthwise::Kernels& k = kernels();
  const int64_t cost = s.w.out * s1.c * s.h.kernel * s.w.kernel;
  parallel_for(s.n * s.h.out, cost,
               [&](int64_t l0, int64_t l1) { k.forward(s1, x1, w, b, l0, l1, y); });
}

void depthwise_backward(const DepthwiseShape& s, const float* dy, const float* x, const float* w,
                        float* dx, float* dw, float* db) {
  const DepthwiseShape s1 = single(s);
  const int64_t CM = s1.c, K = s.h.kernel * s.w.kernel * CM;
  const depthwise::Kernels& k = kernels();
  const std::vector<float> repeated = s.m > 1 ? repeat_channels(s, x) : std::vector<float>();
  const float* x1 = s.m > 1 ? repeated.data() : x;
  if (dx) {
    const int64_t cells = s.n * s.h.in * s.w.in;
    std::vector<float> dx_repeated(static_cast<size_t>(s.m > 1 ? cells * CM : 0));
    float* dx1 = s.m > 1 ? dx_repeated.data() : dx;
    const int64_t cost = s.w.in * CM * s.h.kernel * s.w.kernel;
    if (s.h.stride == 1 && s.w.stride == 1) {
      std::vector<float> wf;
      const DepthwiseShape t = turned(s1, w, wf);
      parallel_for(s.n * s.h.in, cost, [&](int64_t g0, int64_t g1) {
        k.forward(t, dy, wf.data(), nullptr, g0, g1, dx1);
      });
    } else {
      parallel_for(s.n * s.h.in, cost,
                   [&](int64_t g0, int64_t g1) { k.backward_data(s1, dy, w, g0, g1, dx1); });
    }
    if (s.m > 1)  // dx of channel c sums the gradients of its M copies
      parallel_for(cells, CM, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = 0; c < s.c; ++c) {
            float sum = 0.0f;
            for (int64_t m = 0; m < s.m; ++m) sum += dx1[(r * s.c + c) * s.m + m];
            dx[r * s.c + c] = sum;
          }
      });
  }
  const int64_t groups = std::max<int64_t>(1, std::min(kGroups, s.n)), part = K + CM;
  std::vector<float> partials(static_cast<size_t>(groups * part), 0.0f);
  const int64_t cost = s.n / groups * s.h.out * s.w.out * K;
  parallel_for(groups, cost, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t l0 = s.n * g / groups * s.h.out, l1 = s.n * (g + 1) / groups * s.h.out;
      float* p = partials.data() + g * part;
      k.backward_filter(s1, dy, x1, l0, l1, p, p + K);
    }
  });
  std::fill(dw, dw + K, 0.0f);
  std::fill(db, db + CM, 0.0f);
  for (int64_t g = 0; g < groups; ++g) {
    const float* p = partials.data() + g * part;
    for (int64_t i = 0; i < K; ++i) dw[i] += p[i];
    for (int64_t i = 0; i < CM; ++i) db[i] += p[K + i];
  }
}

}  // namespace shendu
