// Softmax over the last axis of a (rows, cols) device array, and its backward.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// y = softmax(x) row by row, max-subtracted (y may alias x).
void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols, cudaStream_t stream);
// dx = y * (dy - sum(dy * y)) row by row (dx may alias dy).
void softmax_backward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols,
                      cudaStream_t stream);

}  // namespace shendu::cuda
