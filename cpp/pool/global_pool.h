// Global average and max pooling over the steps of (N, L, C) arrays (L = H * W for NHWC images):
// each sample's L rows of C channels are reduced into C accumulators in one pass over the input,
// read once and contiguously. Parallel over samples and blocks of channels.
#pragma once
#include <cstdint>

namespace shendu {

struct GlobalPoolShape {
  int64_t n, steps, c;
};

// y (n, c) = the mean over the steps (0 / 0 = NaN for no steps, as TF's reduce_mean).
void global_avg_pool_forward(const GlobalPoolShape& s, const float* x, float* y);
// dx (n, steps, c) = dy / steps at every step.
void global_avg_pool_backward(const GlobalPoolShape& s, const float* dy, float* dx);

// y (n, c) = the maximum over the steps (-inf for no steps); a NaN propagates.
void global_max_pool_forward(const GlobalPoolShape& s, const float* x, float* y);
// dx = dy split evenly among the steps whose x equals y (TF's reduce_max gradient: ties share).
void global_max_pool_backward(const GlobalPoolShape& s, const float* dy, const float* x,
                              const float* y, float* dx);

}  // namespace shendu
