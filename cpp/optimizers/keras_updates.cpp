// The Keras 3 optimizers beyond SGD, Adam and RMSprop, and the decay / moving average every
// optimizer may apply. Same scheme as optimizers.cpp: one `omp simd` pass per update over arrays
// the binding has checked are separate, the optional squared (or absolute) gradient a template
// parameter so each loop body stays branch-free.
#include <cmath>

#include "common/parallel.h"
#include "optimizers/optimizers.h"

namespace shendu {

namespace {

constexpr int64_t kUpdateWork = 8;

// The gradient's square (or absolute value), or the given per-lookup sums.
template <bool given>
inline float squared(const float* given_values, float g, int64_t i) {
  if constexpr (given)
    return given_values[i];
  else
    return g * g;
}

template <bool given>
inline float absolute(const float* given_values, float g, int64_t i) {
  if constexpr (given)
    return given_values[i];
  else
    return std::fabs(g);
}

inline float sign(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }

// Runs loop<true> when `given` is set, else loop<false>.
template <template <bool> class Loop, class... Args>
void dispatch(const float* given, Args&&... args) {
  if (given)
    Loop<true>::run(given, args...);
  else
    Loop<false>::run(given, args...);
}

}  // namespace

void weight_decay_update(float* param, int64_t n, double learning_rate, double weight_decay) {
  const float lr = static_cast<float>(learning_rate);
  const float wd = static_cast<float>(weight_decay);
  parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) param[i] -= param[i] * wd * lr;
  });
}

void ema_update(float* average, const float* param, int64_t n, double momentum) {
  const float mu = static_cast<float>(momentum);
  const float one_minus_mu = 1.0f - mu;
  parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) average[i] = mu * average[i] + one_minus_mu * param[i];
  });
}

namespace {

struct NadamScalars {
  float one_minus_b1, one_minus_b2, u_next, m_denom, g_coef, g_denom, v_denom, lr, eps;
};

template <bool given_sq>
struct NadamLoop {
  static void run(const float* grad_sq, float* param, const float* grad, float* m, float* v,
                  int64_t n, const NadamScalars& c) {
    parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const float g = grad[i];
        const float mi = m[i] + (g - m[i]) * c.one_minus_b1;
        const float vi = v[i] + (squared<given_sq>(grad_sq, g, i) - v[i]) * c.one_minus_b2;
        m[i] = mi;
        v[i] = vi;
        const float m_hat = c.u_next * mi / c.m_denom + c.g_coef * g / c.g_denom;
        param[i] -= m_hat * c.lr / (std::sqrt(vi / c.v_denom) + c.eps);
      }
    });
  }
};

}  // namespace

void nadam_update(float* param, const float* grad, const float* grad_sq, float* m, float* v,
                  int64_t n, int64_t step, double u_product, double learning_rate, double beta_1,
                  double beta_2, double epsilon) {
  const double t = static_cast<double>(step);
  const double u_t = beta_1 * (1.0 - 0.5 * std::pow(0.96, t));
  const double u_next = beta_1 * (1.0 - 0.5 * std::pow(0.96, t + 1.0));
  const NadamScalars c{static_cast<float>(1.0 - beta_1),
                       static_cast<float>(1.0 - beta_2),
                       static_cast<float>(u_next),
                       static_cast<float>(1.0 - u_product * u_next),
                       static_cast<float>(1.0 - u_t),
                       static_cast<float>(1.0 - u_product),
                       static_cast<float>(1.0 - std::pow(beta_2, t)),
                       static_cast<float>(learning_rate),
                       static_cast<float>(epsilon)};
  dispatch<NadamLoop>(grad_sq, param, grad, m, v, n, c);
}

namespace {

template <bool given_abs>
struct AdamaxLoop {
  static void run(const float* grad_abs, float* param, const float* grad, float* m, float* u,
                  int64_t n, float one_minus_b1, float b2, float lr, float denom, float eps) {
    parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const float g = grad[i];
        const float mi = m[i] + (g - m[i]) * one_minus_b1;
        const float ui = std::fmax(b2 * u[i], absolute<given_abs>(grad_abs, g, i));
        m[i] = mi;
        u[i] = ui;
        param[i] -= lr * mi / (denom * (ui + eps));
      }
    });
  }
};

}  // namespace

void adamax_update(float* param, const float* grad, const float* grad_abs, float* m, float* u,
                   int64_t n, int64_t step, double learning_rate, double beta_1, double beta_2,
                   double epsilon) {
  const float denom = static_cast<float>(1.0 - std::pow(beta_1, static_cast<double>(step)));
  dispatch<AdamaxLoop>(grad_abs, param, grad, m, u, n, static_cast<float>(1.0 - beta_1),
                       static_cast<float>(beta_2), static_cast<float>(learning_rate), denom,
                       static_cast<float>(epsilon));
}

namespace {

template <bool given_sq>
struct AdagradLoop {
  static void run(const float* grad_sq, float* param, const float* grad, float* acc, int64_t n,
                  float lr, float eps) {
    parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const float g = grad[i];
        const float a = acc[i] + squared<given_sq>(grad_sq, g, i);
        acc[i] = a;
        param[i] -= lr * g / std::sqrt(a + eps);
      }
    });
  }
};

template <bool given_sq>
struct AdadeltaLoop {
  static void run(const float* grad_sq, float* param, const float* grad, float* acc_grad,
                  float* acc_delta, int64_t n, float lr, float rho, float one_minus_rho,
                  float eps) {
    parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const float g = grad[i];
        const float ag = rho * acc_grad[i] + one_minus_rho * squared<given_sq>(grad_sq, g, i);
        const float rms_delta = std::sqrt(acc_delta[i] + eps);
        const float rms_grad = std::sqrt(ag + eps);
        const float delta = -(rms_delta * g / rms_grad);
        // Per lookup, each lookup's delta is squared before the sum: the ratio squared times
        // the summed squared gradients.
        const float delta_sq = given_sq ? rms_delta * rms_delta * grad_sq[i] / (rms_grad * rms_grad)
                                        : delta * delta;
        acc_grad[i] = ag;
        acc_delta[i] = rho * acc_delta[i] + one_minus_rho * delta_sq;
        param[i] += lr * delta;
      }
    });
  }
};

}  // namespace

void adagrad_update(float* param, const float* grad, const float* grad_sq, float* accumulator,
                    int64_t n, double learning_rate, double epsilon) {
  dispatch<AdagradLoop>(grad_sq, param, grad, accumulator, n, static_cast<float>(learning_rate),
                        static_cast<float>(epsilon));
}

void adadelta_update(float* param, const float* grad, const float* grad_sq, float* acc_grad,
                     float* acc_delta, int64_t n, double learning_rate, double rho,
                     double epsilon) {
  dispatch<AdadeltaLoop>(grad_sq, param, grad, acc_grad, acc_delta, n,
                         static_cast<float>(learning_rate), static_cast<float>(rho),
                         static_cast<float>(1.0 - rho), static_cast<float>(epsilon));
}

void lion_update(float* param, const float* grad, float* m, int64_t n, double learning_rate,
                 double beta_1, double beta_2) {
  const float lr = static_cast<float>(learning_rate);
  const float b1 = static_cast<float>(beta_1), b2 = static_cast<float>(beta_2);
  // Keras subtracts the float32 betas from 1 in float32.
  const float one_minus_b1 = 1.0f - b1, one_minus_b2 = 1.0f - b2;
  parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i];
      param[i] -= lr * sign(m[i] * b1 + g * one_minus_b1);
      m[i] = m[i] * b2 + g * one_minus_b2;
    }
  });
}

namespace {

struct FtrlScalars {
  float lr;
  double power;
  float l1, two_l2_reg, two_shrinkage;
};

// x^p in double, rounded once: the C library's float pow and NumPy's differ in the last bit, the
// double one is the same function on both sides of the twin.
inline float power(float x, double p) {
  return static_cast<float>(std::pow(static_cast<double>(x), p));
}

template <bool given_sq>
struct FtrlLoop {
  static void run(const float* grad_sq, float* param, const float* grad, float* acc,
                  float* linear, int64_t n, const FtrlScalars& c) {
    parallel_for(n, kUpdateWork, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const float g = grad[i];
        const float p = param[i];
        const float new_acc = acc[i] + squared<given_sq>(grad_sq, g, i);
        const float new_pow = power(new_acc, c.power);
        const float lin = linear[i] + ((g + c.two_shrinkage * p) -
                                       (new_pow - power(acc[i], c.power)) / c.lr * p);
        const float quadratic = new_pow / c.lr + c.two_l2_reg;
        const float clipped = std::fmin(std::fmax(lin, -c.l1), c.l1);
        linear[i] = lin;
        param[i] = (clipped - lin) / quadratic;
        acc[i] = new_acc;
      }
    });
  }
};

}  // namespace

void ftrl_update(float* param, const float* grad, const float* grad_sq, float* accumulator,
                 float* linear, int64_t n, double learning_rate, double learning_rate_power,
                 double l1, double l2, double l2_shrinkage, double beta) {
  const FtrlScalars c{static_cast<float>(learning_rate), -learning_rate_power,
                      static_cast<float>(l1),
                      static_cast<float>(2.0 * (l2 + beta / (2.0 * learning_rate))),
                      static_cast<float>(2.0 * l2_shrinkage)};
  dispatch<FtrlLoop>(grad_sq, param, grad, accumulator, linear, n, c);
}

}  // namespace shendu
