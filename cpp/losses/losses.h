// Fused losses: each returns the mean loss (accumulated in double) and writes the gradient of
// that mean w.r.t. its first argument into grad (same size). Empty input: loss 0, nothing written.
// The double total is summed over fixed-size blocks in a fixed order, so it does not depend on the
// thread count.
#pragma once
#include <cstdint>

namespace shendu {

// logits (N, C), labels (N,) in [0, C): mean of -log softmax(logits)[label].
double sparse_softmax_cross_entropy(const float* logits, const int64_t* labels, int64_t N,
                                    int64_t C, float* grad);
// logits, targets (N, C), any target distribution: mean over N of -sum(t * log softmax(logits)).
double softmax_cross_entropy(const float* logits, const float* targets, int64_t N, int64_t C,
                             float* grad);
// The element-wise losses average over all n elements.
// Keras binary_crossentropy: probs clipped to [1e-7, 1 - 1e-7], zero gradient where clipped.
double binary_cross_entropy(const float* probs, const float* targets, int64_t n, float* grad);
// Cross-entropy of sigmoid(logits): max(x, 0) - x * t + log1p(exp(-|x|)).
double sigmoid_binary_cross_entropy(const float* logits, const float* targets, int64_t n,
                                    float* grad);
double mean_squared_error(const float* pred, const float* targets, int64_t n, float* grad);
// |pred - targets|, with gradient sign(pred - targets) (0 where equal).
double mean_absolute_error(const float* pred, const float* targets, int64_t n, float* grad);
// Keras Huber: 0.5 d^2 where |d| <= delta, else delta |d| - 0.5 delta^2, for d = pred - targets.
double huber(const float* pred, const float* targets, int64_t n, float delta, float* grad);

}  // namespace shendu
