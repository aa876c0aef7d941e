// The single-thread loops behind activations.h, written once as plain vectorizable C++ and
// compiled per ISA (activations.cpp, activations_avx2.cpp, activations_avx512.cpp): the compiler
// widens the same loops to 4, 8 or 16 lanes; the math they call is vec_math.h's. Instantiate only
// with the ISA of the including file; the template argument keeps each ISA's code under its own
// symbols.
#pragma once
#include <cstdint>

#include "activations/activations.h"
#include "common/vec_math.h"

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
    const float inv = 1.0f / vec_math::exp_minus_max(y, y, n).sum;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }

  static void forward(Activation act, const float* x, const float* bias, float* y, int64_t n) {
    switch (act) {
      case Activation::Linear: return map(x, bias, y, n, [](float v) { return v; });
      case Activation::Relu: return map(x, bias, y, n, [](float v) { return relu(v); });
      case Activation::Sigmoid:
        return map(x, bias, y, n, [](float v) { return vec_math::sigmoid(v); });
      case Activation::Tanh:
        return map(x, bias, y, n, [](float v) { return vec_math::tanh(v); });
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
