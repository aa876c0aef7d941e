// The single-thread loops behind losses.h whose cost is exp / log: written once as plain
// vectorizable C++ (math from vec_math.h) and compiled per ISA (losses.cpp, losses_avx2.cpp,
// losses_avx512.cpp). Instantiate only with the ISA of the including file; the template argument
// keeps each ISA's code under its own symbols.
#pragma once
#include <cmath>
#include <cstdint>

#include "common/vec_math.h"

namespace shendu::loss {

struct Kernels {
  // One row of C logits: returns -sum_c t_c log softmax(x)_c and writes its gradient
  // (softmax(x) * sum(t) - t) * inv_n into g. The targets are the dense row t or, when t is
  // null, one-hot at label.
  double (*softmax_xent_row)(const float* x, const float* t, int64_t label, int64_t C,
                             double inv_n, float* g);
  // n elements of max(x, 0) - x t + log1p(e^-|x|): returns their sum and writes the gradient
  // (sigmoid(x) - t) * inv_n into g.
  double (*sigmoid_xent)(const float* x, const float* t, int64_t n, double inv_n, float* g);
};

const Kernels& kernels_generic();
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();

template <int kIsa>
struct Loops {
  static double softmax_xent_row(const float* x, const float* t, int64_t label, int64_t C,
                                 double inv_n, float* g) {
    const auto [m, s] = vec_math::exp_minus_max(x, g, C);  // a NaN spreads over loss and gradient
    // log softmax(x)_c = (x_c - m) - log s, and every x_c - m <= 0: with lse - x_c written so,
    // the loss is a sum of non-negative terms (no cancellation) even for logits of 1e4.
    const double log_s = std::log(static_cast<double>(s));
    if (!t) {
      const double e_label = g[label];
      const float k = static_cast<float>(inv_n / s);
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) g[c] *= k;
      // softmax - 1 cancels when the label is near certain: that one in double.
      g[label] = static_cast<float>((e_label / s - 1.0) * inv_n);
      return log_s - (static_cast<double>(x[label]) - m);
    }
    float mass = 0.0f, dot = 0.0f;
#pragma omp simd reduction(+ : mass, dot)
    for (int64_t c = 0; c < C; ++c) {
      mass += t[c];
      dot += t[c] * (x[c] - m);
    }
    const float k = static_cast<float>(mass * inv_n / s), kt = static_cast<float>(inv_n);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) g[c] = g[c] * k - t[c] * kt;
    return mass * log_s - dot;
  }

  static double sigmoid_xent(const float* x, const float* t, int64_t n, double inv_n,
                             float* g) {
    const float k = static_cast<float>(inv_n);
    double sum = 0.0;
    // The terms in double: max(x, 0) - x t cancels for large x and t near 1.
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) {
      const float xi = x[i];
      g[i] = (vec_math::sigmoid(xi) - t[i]) * k;
      const float relu = vec_math::select(vec_math::mask_if(xi > 0.0f), xi, 0.0f);
      const float log_term = vec_math::log1p(vec_math::exp(-vec_math::abs(xi)));  // <= ln 2
      sum += static_cast<double>(relu) - static_cast<double>(xi) * static_cast<double>(t[i]) +
             static_cast<double>(log_term);
    }
    return sum;
  }

  static constexpr Kernels kKernels{&softmax_xent_row, &sigmoid_xent};
};

}  // namespace shendu::loss
