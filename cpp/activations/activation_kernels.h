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
  void (*pointwise)(Pointwise f, float alpha, const float* x, float* y, int64_t n);
  void (*pointwise_backward)(Pointwise f, float alpha, const float* dy, const float* x,
                             const float* y, float* dx, int64_t n);
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

  // Masks instead of ?: wherever a branch would guard float work (see vec_math::select).
  static float pick(bool c, float a, float b) { return vec_math::select(vec_math::mask_if(c), a, b); }
  static float relu6(float v) {
    const float r = relu(v);
    return r > 6.0f ? 6.0f : r;  // NaN > 6 is false: NaN stays
  }
  static float hard_sigmoid(float v) { return relu6(v + 3.0f) / 6.0f; }
  static constexpr float kSeluAlpha = 1.67326324f, kSeluScale = 1.05070098f;
  static constexpr float kSqrtHalf = 0.70710678118654752f;        // gelu: Phi(x) = erf(x / sqrt 2)
  static constexpr float kInvSqrt2Pi = 0.39894228040143268f;      // gelu: phi(0)
  static constexpr float kSqrt2OverPi = 0.79788456080286536f;     // gelu's tanh approximation
  static constexpr float kGeluCubic = 0.044715f;

  static void pointwise(Pointwise f, float alpha, const float* x, float* y, int64_t n) {
    using namespace vec_math;
    switch (f) {
      case Pointwise::Gelu:
        return map(x, nullptr, y, n, [](float v) { return 0.5f * v * (1.0f + erf(v * kSqrtHalf)); });
      case Pointwise::GeluTanh:
        return map(x, nullptr, y, n, [](float v) {
          return 0.5f * v * (1.0f + tanh(kSqrt2OverPi * (v + kGeluCubic * v * v * v)));
        });
      case Pointwise::Silu: return map(x, nullptr, y, n, [](float v) { return v * sigmoid(v); });
      case Pointwise::Elu:
        return map(x, nullptr, y, n,
                   [alpha](float v) { return pick(v > 0.0f, v, alpha * expm1(v)); });
      case Pointwise::Selu:
        return map(x, nullptr, y, n, [](float v) {
          return kSeluScale * pick(v > 0.0f, v, kSeluAlpha * expm1(v));
        });
      case Pointwise::Softplus: return map(x, nullptr, y, n, [](float v) { return softplus(v); });
      case Pointwise::Softsign:
        return map(x, nullptr, y, n, [](float v) { return v / (1.0f + abs(v)); });
      case Pointwise::HardSigmoid:
        return map(x, nullptr, y, n, [](float v) { return hard_sigmoid(v); });
      case Pointwise::HardSilu:
        return map(x, nullptr, y, n, [](float v) { return v * hard_sigmoid(v); });
      case Pointwise::LeakyRelu:
        return map(x, nullptr, y, n, [alpha](float v) { return pick(v > 0.0f, v, alpha * v); });
      case Pointwise::Exponential: return map(x, nullptr, y, n, [](float v) { return exp(v); });
      case Pointwise::Relu6: return map(x, nullptr, y, n, [](float v) { return relu6(v); });
      case Pointwise::Mish:
        return map(x, nullptr, y, n, [](float v) { return v * tanh(softplus(v)); });
    }
  }

  template <class F>
  static void zip3(const float* dy, const float* x, const float* y, float* dx, int64_t n, F f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * f(x[i], y[i]);
  }

  // dx = dy * f'(x). At the kinks (0 for elu/leaky_relu/relu6, +-3 for hard_sigmoid) the slope is
  // the one of the side TF's gradients take: the open interval, as in its Relu6Grad.
  static void pointwise_backward(Pointwise f, float alpha, const float* dy, const float* x,
                                 const float* y, float* dx, int64_t n) {
    using namespace vec_math;
    switch (f) {
      case Pointwise::Gelu:
        return zip3(dy, x, y, dx, n, [](float v, float) {
          return 0.5f * (1.0f + erf(v * kSqrtHalf)) + v * kInvSqrt2Pi * exp(-0.5f * v * v);
        });
      case Pointwise::GeluTanh:
        return zip3(dy, x, y, dx, n, [](float v, float) {
          const float t = tanh(kSqrt2OverPi * (v + kGeluCubic * v * v * v));
          return 0.5f * (1.0f + t) +
                 0.5f * v * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * v * v);
        });
      case Pointwise::Silu:
        return zip3(dy, x, y, dx, n, [](float v, float) {
          const float s = sigmoid(v);
          return s * (1.0f + v * (1.0f - s));
        });
      case Pointwise::Elu:
        return zip3(dy, x, y, dx, n,
                    [alpha](float v, float) { return pick(v > 0.0f, 1.0f, alpha * exp(v)); });
      case Pointwise::Selu:
        return zip3(dy, x, y, dx, n, [](float v, float) {
          return pick(v > 0.0f, kSeluScale, kSeluScale * kSeluAlpha * exp(v));
        });
      case Pointwise::Softplus:
        return zip3(dy, x, y, dx, n, [](float v, float) { return sigmoid(v); });
      case Pointwise::Softsign:
        return zip3(dy, x, y, dx, n, [](float v, float) {
          const float d = 1.0f + abs(v);
          return 1.0f / (d * d);
        });
      case Pointwise::HardSigmoid:
        return zip3(dy, x, y, dx, n, [](float v, float) {
          return pick((v > -3.0f) & (v < 3.0f), 1.0f / 6.0f, 0.0f);
        });
      case Pointwise::HardSilu:
        return zip3(dy, x, y, dx, n, [](float v, float) {
          return hard_sigmoid(v) + pick((v > -3.0f) & (v < 3.0f), v / 6.0f, 0.0f);
        });
      case Pointwise::LeakyRelu:
        return zip3(dy, x, y, dx, n,
                    [alpha](float v, float) { return pick(v > 0.0f, 1.0f, alpha); });
      case Pointwise::Exponential:
        return zip3(dy, x, y, dx, n, [](float, float o) { return o; });
      case Pointwise::Relu6:
        return zip3(dy, x, y, dx, n,
                    [](float v, float) { return pick((v > 0.0f) & (v < 6.0f), 1.0f, 0.0f); });
      case Pointwise::Mish:
        return zip3(dy, x, y, dx, n, [](float v, float) {
          const float t = tanh(softplus(v));
          return t + v * (1.0f - t * t) * sigmoid(v);
        });
    }
  }

  static constexpr Kernels kKernels{&forward, &backward, &pointwise, &pointwise_backward};
};

}  // namespace shendu::activation
