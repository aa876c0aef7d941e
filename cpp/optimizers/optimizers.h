// Fused in-place optimizer updates (Keras 3 formulas), one pass over n float32 elements.
// The float32 arithmetic follows Keras's operation order, so the NumPy twins in reference.py
// reproduce it.
#pragma once
#include <cstdint>

namespace shendu {

// velocity = momentum * velocity - lr * grad; param += velocity, or with nesterov
// param += momentum * velocity - lr * grad. velocity == nullptr: param -= lr * grad.
void sgd_update(float* param, const float* grad, float* velocity, int64_t n, double learning_rate,
                double momentum, bool nesterov);

// grad_sq in Adam and RMSprop: the square of the gradient, or nullptr for grad^2. A gradient
// summed over several lookups of one table row (Embedding with repeated ids) passes the sum of
// each lookup's squared gradient, as TensorFlow squares the IndexedSlices it hands Keras before
// summing them.

// Keras Adam, step >= 1: lr_t = lr * sqrt(1 - beta_2^step) / (1 - beta_1^step);
// m += (grad - m) * (1 - beta_1); v += (grad_sq - v) * (1 - beta_2);
// param -= m * lr_t / (sqrt(v) + epsilon).
void adam_update(float* param, const float* grad, const float* grad_sq, float* m, float* v,
                 int64_t n, int64_t step, double learning_rate, double beta_1, double beta_2,
                 double epsilon);

// Keras RMSprop (no momentum, not centered): avg_sq = rho * avg_sq + (1 - rho) * grad_sq;
// param -= lr * grad / sqrt(avg_sq + epsilon).
void rmsprop_update(float* param, const float* grad, const float* grad_sq, float* avg_sq,
                    int64_t n, double learning_rate, double rho, double epsilon);

// The updates below follow the Keras 3 optimizer of the same name, in its float32 operation
// order; scalars derived from the step are computed in double and rounded once. grad_sq /
// grad_abs: as in adam_update, the per-lookup sums TensorFlow's sparse gradients give, or
// nullptr for grad^2 / |grad|.

// Keras's decoupled weight decay, applied before an update: param -= param * wd * lr.
void weight_decay_update(float* param, int64_t n, double learning_rate, double weight_decay);

// Keras's moving average of a weight (use_ema): average = mu * average + (1 - mu) * param.
void ema_update(float* average, const float* param, int64_t n, double momentum);

// Nadam. u_product: prod_{i <= step} beta_1 (1 - 0.5 * 0.96^i), this step's factor included.
// m += (grad - m)(1 - beta_1); v += (grad_sq - v)(1 - beta_2);
// m_hat = u_{t+1} m / (1 - u_product u_{t+1}) + (1 - u_t) grad / (1 - u_product);
// param -= m_hat lr / (sqrt(v / (1 - beta_2^step)) + epsilon).
void nadam_update(float* param, const float* grad, const float* grad_sq, float* m, float* v,
                  int64_t n, int64_t step, double u_product, double learning_rate, double beta_1,
                  double beta_2, double epsilon);

// Adamax: m += (grad - m)(1 - beta_1); u = max(beta_2 u, grad_abs);
// param -= lr m / ((1 - beta_1^step)(u + epsilon)).
void adamax_update(float* param, const float* grad, const float* grad_abs, float* m, float* u,
                   int64_t n, int64_t step, double learning_rate, double beta_1, double beta_2,
                   double epsilon);

// Adagrad: accumulator += grad_sq; param -= lr grad / sqrt(accumulator + epsilon).
void adagrad_update(float* param, const float* grad, const float* grad_sq, float* accumulator,
                    int64_t n, double learning_rate, double epsilon);

// Adadelta: acc_grad = rho acc_grad + (1 - rho) grad_sq;
// delta = -sqrt(acc_delta + eps) grad / sqrt(acc_grad + eps);
// acc_delta = rho acc_delta + (1 - rho) delta^2 (per lookup with grad_sq); param += lr delta.
void adadelta_update(float* param, const float* grad, const float* grad_sq, float* acc_grad,
                     float* acc_delta, int64_t n, double learning_rate, double rho, double epsilon);

// Lion: param -= lr sign(beta_1 m + (1 - beta_1) grad); m = beta_2 m + (1 - beta_2) grad.
void lion_update(float* param, const float* grad, float* m, int64_t n, double learning_rate,
                 double beta_1, double beta_2);

// Ftrl-proximal as Keras: with p = -lr_power, new_acc = acc + grad_sq,
// linear += grad + 2 l2_shrinkage param - (new_acc^p - acc^p) / lr * param,
// param = (clip(linear, -l1, l1) - linear) / (new_acc^p / lr + 2 (l2 + beta / (2 lr))).
void ftrl_update(float* param, const float* grad, const float* grad_sq, float* accumulator,
                 float* linear, int64_t n, double learning_rate, double learning_rate_power,
                 double l1, double l2, double l2_shrinkage, double beta);

}  // namespace shendu
