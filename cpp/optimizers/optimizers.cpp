#include "optimizers/optimizers.h"

#include <cmath>

#include "common/parallel.h"

namespace shendu {

namespace {

// Work per element for parallel_for: a handful of flops plus 3-5 streamed arrays.
constexpr int64_t kUpdateWork = 8;

// The loops below are `omp simd`: without it GCC cannot rule out that the arrays overlap and keeps
// Adam scalar (several times slower on a large embedding table). The binding refuses overlapping
// arrays, so the promise holds.

enum class SgdMode { Plain, Momentum, Nesterov };

// The mode is a template parameter so each loop body is branch-free and vectorizes.
template <SgdMode mode>
void sgd_loop(float* param, const float* grad, float* velocity, int64_t n, float lr, float mu) {
  parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (mode == SgdMode::Plain) {
        param[i] -= grad[i] * lr;
      } else {
        const float v = velocity[i] * mu - grad[i] * lr;
        velocity[i] = v;
        param[i] += mode == SgdMode::Nesterov ? v * mu - grad[i] * lr : v;
      }
    }
  });
}

}  // namespace

void sgd_update(float* param, const float* grad, float* velocity, int64_t n, double learning_rate,
                double momentum, bool nesterov) {
  const float lr = static_cast<float>(learning_rate);
  const float mu = static_cast<float>(momentum);
  if (!velocity)
    sgd_loop<SgdMode::Plain>(param, grad, velocity, n, lr, mu);
  else if (nesterov)
    sgd_loop<SgdMode::Nesterov>(param, grad, velocity, n, lr, mu);
  else
    sgd_loop<SgdMode::Momentum>(param, grad, velocity, n, lr, mu);
}

namespace {

// grad_sq is a template parameter so each loop body stays branch-free and vectorizes.
template <bool given_sq>
void adam_loop(float* param, const float* grad, const float* grad_sq, float* m, float* v,
               int64_t n, float alpha, float one_minus_b1, float one_minus_b2, float eps) {
  parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i];
      const float g2 = given_sq ? grad_sq[i] : g * g;
      const float mi = m[i] + (g - m[i]) * one_minus_b1;
      const float vi = v[i] + (g2 - v[i]) * one_minus_b2;
      m[i] = mi;
      v[i] = vi;
      param[i] -= mi * alpha / (std::sqrt(vi) + eps);
    }
  });
}

template <bool given_sq>
void rmsprop_loop(float* param, const float* grad, const float* grad_sq, float* avg_sq, int64_t n,
                  float lr, float r, float one_minus_r, float eps) {
  parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i];
      const float a = r * avg_sq[i] + one_minus_r * (given_sq ? grad_sq[i] : g * g);
      avg_sq[i] = a;
      param[i] -= lr * g / std::sqrt(a + eps);
    }
  });
}

}  // namespace

void adam_update(float* param, const float* grad, const float* grad_sq, float* m, float* v,
                 int64_t n, int64_t step, double learning_rate, double beta_1, double beta_2,
                 double epsilon) {
  const double t = static_cast<double>(step);
  const float alpha = static_cast<float>(learning_rate * std::sqrt(1.0 - std::pow(beta_2, t)) /
                                         (1.0 - std::pow(beta_1, t)));
  const float one_minus_b1 = static_cast<float>(1.0 - beta_1);
  const float one_minus_b2 = static_cast<float>(1.0 - beta_2);
  const float eps = static_cast<float>(epsilon);
  if (grad_sq)
    adam_loop<true>(param, grad, grad_sq, m, v, n, alpha, one_minus_b1, one_minus_b2, eps);
  else
    adam_loop<false>(param, grad, grad_sq, m, v, n, alpha, one_minus_b1, one_minus_b2, eps);
}

void rmsprop_update(float* param, const float* grad, const float* grad_sq, float* avg_sq,
                    int64_t n, double learning_rate, double rho, double epsilon) {
  const float lr = static_cast<float>(learning_rate);
  const float r = static_cast<float>(rho);
  const float one_minus_r = static_cast<float>(1.0 - rho);
  const float eps = static_cast<float>(epsilon);
  if (grad_sq)
    rmsprop_loop<true>(param, grad, grad_sq, avg_sq, n, lr, r, one_minus_r, eps);
  else
    rmsprop_loop<false>(param, grad, grad_sq, avg_sq, n, lr, r, one_minus_r, eps);
}

}  // namespace shendu
