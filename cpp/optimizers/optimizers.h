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

}  // namespace shendu
