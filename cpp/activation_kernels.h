// The single-thread loops behind activations.h, written once as plain vectorizable C++ and
// compiled per ISA (activations.cpp, activations_avx2.cpp, activations_avx512.cpp): the compiler
// widens the same loops to 4, 8 or 16 lanes. Instantiate only with the ISA of the including file;
// the template argument keeps each ISA's code under its own symbols.
#pragma once
#include <cstdint>
#include <cstring>

#include "activations.h"

namespace shendu::activation {

// One contiguous run: a row (bias may be set, softmax normalizes over it) or, for elementwise
// activations without bias, any slice of the flat array.
struct Kernels {
  void (*forward)(Activation act, const float* x, const float* bias, float* y, int64_t n);
  void (*backward)(Activation act, const float* dy, const float* y, float* dx, int64_t n);
};

const Kernels& kernels_generic();
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();

template <int kIsa>
struct Loops {
  static float bits_to_float(int32_t i) {
    float f;
    std::memcpy(&f, &i, sizeof f);
    return f;
  }
  static int32_t float_to_bits(float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i;
  }

  // exp(x) for x clamped to [-87, 88] (so 2^n stays a normal float): Cephes expf, ~1 ulp.
  // Branch-free so it vectorizes; a NaN input passes the comparisons unchanged and stays NaN.
  static float exp(float x) {
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    // round(x / ln 2) by the 1.5 * 2^23 trick: n's integer sits in the low mantissa bits.
    const float shifted = x * 1.44269504088896341f + 12582912.0f;
    const float n = shifted - 12582912.0f;
    const int32_t ni = float_to_bits(shifted) - float_to_bits(12582912.0f);
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    const float p =
        ((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
            4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * r * r) + r + 1.0f;
    return p * bits_to_float((ni + 127) << 23);
  }

  // 1 / (1 + exp(-x)): exp is clamped, so large |x| gives 0 or 1, never inf / inf.
  static float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

  // Odd polynomial near 0 (Cephes tanhf), where 1 - 2 / (e^2x + 1) would cancel; both branches
  // are computed so the loop stays branch-free.
  static float tanh(float x) {
    const float ax = x < 0.0f ? -x : x;
    const float z = x * x;
    const float small =
        ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
          1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    const float big = 1.0f - 2.0f / (exp(2.0f * ax) + 1.0f);
    const float large = x < 0.0f ? -big : big;
    return ax < 0.625f ? small : large;
  }

  static float relu(float x) { return x < 0.0f ? 0.0f : x; }  // NaN < 0 is false: NaN stays

  template <class F>
  static void map(const float* x, const float* bias, float* y, int64_t n, F f) {
    if (bias) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = f(x[i] + bias[i]);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
    }
  }

  static void softmax(const float* x, const float* bias, float* y, int64_t n) {
    map(x, bias, y, n, [](float v) { return v; });
    float mx = -__builtin_inff();
    // A NaN is missed by max, but exp(NaN - mx) is NaN and the sum spreads it over the row.
#pragma omp simd reduction(max : mx)
    for (int64_t i = 0; i < n; ++i) mx = y[i] > mx ? y[i] : mx;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) {
      y[i] = exp(y[i] - mx);
      sum += y[i];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }

  static void forward(Activation act, const float* x, const float* bias, float* y, int64_t n) {
    switch (act) {
      case Activation::Linear: return map(x, bias, y, n, [](float v) { return v; });
      case Activation::Relu: return map(x, bias, y, n, [](float v) { return relu(v); });
      case Activation::Sigmoid: return map(x, bias, y, n, [](float v) { return sigmoid(v); });
      case Activation::Tanh: return map(x, bias, y, n, [](float v) { return tanh(v); });
      case Activation::Softmax: return softmax(x, bias, y, n);
    }
  }

  template <class F>
  static void zip(const float* dy, const float* y, float* dx, int64_t n, F f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dx[i] = f(dy[i], y[i]);
  }

  static void backward(Activation act, const float* dy, const float* y, float* dx, int64_t n) {
    switch (act) {
      case Activation::Linear:
        return zip(dy, y, dx, n, [](float g, float) { return g; });
      case Activation::Relu:
        return zip(dy, y, dx, n, [](float g, float v) { return v > 0.0f ? g : 0.0f; });
      case Activation::Sigmoid:
        return zip(dy, y, dx, n, [](float g, float v) { return g * v * (1.0f - v); });
      case Activation::Tanh:
        return zip(dy, y, dx, n, [](float g, float v) { return g * (1.0f - v * v); });
      case Activation::Softmax: {
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t i = 0; i < n; ++i) dot += dy[i] * y[i];
        return zip(dy, y, dx, n, [dot](float g, float v) { return v * (g - dot); });
      }
    }
  }

  static constexpr Kernels kKernels{&forward, &backward};
};

}  // namespace shendu::activation
