// Sliding-window geometry shared by convolution and pooling (NHWC, TensorFlow's padding rules).
#pragma once
#include <algorithm>
#include <cstdint>

namespace shendu {

// One spatial axis of a sliding window: `pad` is the implicit padding before the first input cell.
struct Axis {
  int64_t in, kernel, stride, pad, out;
};

// "valid": out = (in - kernel) / stride + 1 (the caller rejects kernel > in).
// "same" (TensorFlow): out = ceil(in / stride), total padding
// max((out - 1) * stride + kernel - in, 0), of which the top/left gets the smaller half.
inline Axis make_axis(int64_t in, int64_t kernel, int64_t stride, bool same) {
  if (!same) return {in, kernel, stride, 0, (in - kernel) / stride + 1};
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - in, 0);
  return {in, kernel, stride, total / 2, out};
}

// The kernel taps [k0, k1) of output position o that land on real input cells. Never empty for
// the geometries make_axis builds: padding is always smaller than the kernel.
struct Taps {
  int64_t k0, k1;
};

inline Taps taps(const Axis& a, int64_t o) {
  const int64_t start = o * a.stride - a.pad;
  return {std::max<int64_t>(0, -start), std::min(a.kernel, a.in - start)};
}

// The output positions [o0, o1) whose tap k lands on a real input cell.
inline Taps outputs_of_tap(const Axis& a, int64_t k) {
  const int64_t lowest = a.pad - k;             // o * stride >= lowest
  const int64_t highest = a.in - 1 + a.pad - k;  // o * stride <= highest
  const int64_t o0 = lowest <= 0 ? 0 : (lowest + a.stride - 1) / a.stride;
  const int64_t o1 = highest < 0 ? 0 : std::min(a.out, highest / a.stride + 1);
  return {o0, std::max(o0, o1)};
}

// The output positions [o0, o1) whose window covers input cell i (real taps only).
inline Taps outputs_covering(const Axis& a, int64_t i) {
  const int64_t lowest = i + a.pad - a.kernel + 1;  // o * stride >= lowest
  const int64_t o0 = lowest <= 0 ? 0 : (lowest + a.stride - 1) / a.stride;
  const int64_t o1 = std::min(a.out, (i + a.pad) / a.stride + 1);
  return {o0, std::max(o0, o1)};
}

}  // namespace shendu
