#include "conv2d_winograd.h"

#include "conv2d_winograd_kernels.h"
#include "cpu_features.h"

namespace shendu {
namespace {

const WinogradKernels& kernels() {
  switch (active_isa()) {
    case Isa::Avx512: return winograd_kernels_avx512();
    case Isa::Avx2: return winograd_kernels_avx2();
    default: return winograd::kKernels;
  }
}

}  // namespace

bool winograd_pays(const Conv2dShape& s) {
  if (s.h.kernel != 3 || s.w.kernel != 3 || s.h.stride != 1 || s.w.stride != 1) return false;
  // 16 products per tile and channel pair against 9 per output: require at most 60% of the direct
  // products, which the partial tiles of small odd outputs (3x3: 79%) miss.
  const int64_t tiles = (s.h.out + 1) / 2 * ((s.w.out + 1) / 2);
  return 16 * tiles * 5 <= 9 * s.h.out * s.w.out * 3;
}

WinogradGeometry winograd_forward_geometry(const Conv2dShape& s) {
  return {s.h.in, s.w.in, s.c, s.h.out, s.w.out, s.f, s.h.pad, s.w.pad};
}

WinogradGeometry winograd_input_grad_geometry(const Conv2dShape& s) {
  // dx(ih) = sum over kh of dy(ih + pad - kh) w(kh) = sum over k of dy(ih - (2 - pad) + k) w(2 - k).
  return {s.h.out, s.w.out, s.f, s.h.in, s.w.in, s.c, 2 - s.h.pad, 2 - s.w.pad};
}

std::vector<float> winograd_filters(const Conv2dShape& s, const float* w, bool input_grad) {
  std::vector<float> u(static_cast<size_t>(16 * s.c * s.f));
  kernels().filters(s, w, input_grad, u.data());
  return u;
}

void winograd_conv(const WinogradGeometry& g, const float* in, const float* u, const float* b,
                   int64_t n0, int64_t n1, float* out) {
  kernels().conv(g, in, u, b, n0, n1, out);
}

void winograd_filter_grad(const Conv2dShape& s, const float* x, const float* dy, int64_t n0,
                          int64_t n1, float* dw) {
  kernels().filter_grad(s, x, dy, n0, n1, dw);
}

}  // namespace shendu
