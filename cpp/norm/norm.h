// Batch and layer normalization: the statistics of each channel (batch norm) or row (layer
// norm) in one pass over memory, the normalization in a second, and backward passes built on the
// reduced formula dx = a * (dy - mean(dy) - xhat * mean(dy * xhat)).
//
// Statistics are numerically safe for data far from zero (a mean of 1e4 with a standard
// deviation of 1): every block of x that fits in L1 is read twice while there, once for a rough
// mean and once for the sums of d = x - that mean, and the blocks' (count, mean, M2) merge in
// double in a fixed order (Chan et al.), so results do not depend on the thread count.
#pragma once
#include <cstdint>

namespace shendu {

// x viewed as (outer, channels, inner): a batch norm over axis k of a shape has outer = the
// product of the dimensions before k, inner = of those after k (1 for the last axis, NHWC).
struct ChannelShape {
  int64_t outer, channels, inner;
  int64_t count() const { return outer * inner; }  // values per channel
};

// The training forward: the batch statistics mean, var (biased, as Keras's moments; NaN for
// channels of no values) and
// y = (x - mean) / sqrt(var + eps) * gamma + beta. The mean stays in double while y is made, so
// x - mean keeps its precision when the mean is large. gamma, beta: nullptr for 1 and 0.
void batch_norm_train(const ChannelShape& s, const float* x, const float* gamma,
                      const float* beta, float eps, float* y, float* mean, float* var);

// The inference forward with given statistics (a per-channel affine map).
void batch_norm_infer(const ChannelShape& s, const float* x, const float* mean, const float* var,
                      const float* gamma, const float* beta, float eps, float* y);

// Gradients of batch_norm_train given dy and its x, mean, var: dgamma = sum(dy * xhat),
// dbeta = sum(dy) per channel, dx by the reduced formula with a = gamma / sqrt(var + eps).
void batch_norm_backward(const ChannelShape& s, const float* dy, const float* x,
                         const float* gamma, const float* mean, const float* var, float eps,
                         float* dx, float* dgamma, float* dbeta);

// Layer norm over the last axis of x (rows, width): y = (x - mean) * rstd * gamma + beta per row,
// rstd = 1 / sqrt(var + eps) (var biased). Writes each row's mean and rstd for the backward.
void layer_norm_forward(int64_t rows, int64_t width, const float* x, const float* gamma,
                        const float* beta, float eps, float* y, float* mean, float* rstd);

void layer_norm_backward(int64_t rows, int64_t width, const float* dy, const float* x,
                         const float* gamma, const float* mean, const float* rstd, float* dx,
                         float* dgamma, float* dbeta);

}  // namespace shendu
