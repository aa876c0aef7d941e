// Max and average pooling over NHWC images, forward and backward.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "window.h"

namespace shendu::cuda {

// y (N, Ho, Wo, C) and argmax (same shape): the tap i * kw + j of each window's maximum, i and j
// counting the padded rows/columns (as cpp/pool/pool2d.h: uint8_t for windows of up to 256 cells,
// uint16_t above). Ties keep the first cell in row-major window order; the first NaN wins;
// padding cells are never candidates.
template <class Index>
void max_pool_forward(const float* x, const Window2d& g, float* y, Index* argmax,
                      cudaStream_t stream);
// dx (N, H, W, C): each element gathers the dy of the windows covering it whose argmax names it,
// in a fixed order (no zero-fill, no atomics: deterministic). The caller has checked that every
// argmax value names a real cell.
template <class Index>
void max_pool_backward(const float* dy, const Index* argmax, const Window2d& g, float* dx,
                       cudaStream_t stream);
// Averages over each window's real (non-padding) cells.
void avg_pool_forward(const float* x, const Window2d& g, float* y, cudaStream_t stream);
// dx (N, H, W, C): each element gathers dy / count of every window that covers it.
void avg_pool_backward(const float* dy, const Window2d& g, float* dx, cudaStream_t stream);

}  // namespace shendu::cuda
