// Max and average pooling over NHWC images, forward and backward.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "window.h"

namespace shendu::cuda {

// y (N, Ho, Wo, C) and argmax (same shape): the flat index h * W + w of each window's maximum in
// its (n, :, :, c) plane. Ties keep the first cell in row-major window order; the first NaN wins;
// padding cells are never candidates.
void max_pool_forward(const float* x, const Window2d& g, float* y, int64_t* argmax,
                      cudaStream_t stream);
// dx (N, H, W, C), zeroed by the caller, += dy routed to argmax (atomicAdd: overlapping windows
// may pick the same cell).
void max_pool_backward(const float* dy, const int64_t* argmax, const Window2d& g, float* dx,
                       cudaStream_t stream);
// Averages over each window's real (non-padding) cells.
void avg_pool_forward(const float* x, const Window2d& g, float* y, cudaStream_t stream);
// dx (N, H, W, C): each element gathers dy / count of every window that covers it.
void avg_pool_backward(const float* dy, const Window2d& g, float* dx, cudaStream_t stream);

}  // namespace shendu::cuda
