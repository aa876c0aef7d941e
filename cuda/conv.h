// The data movement of conv2d as GEMM (the products themselves are sgemm.h): im2col unrolls every
// output position's receptive field into a row, col2im folds such rows back into images.
#pragma once
#include <cuda_runtime.h>

#include "window.h"

namespace shendu::cuda {

// cols (N * Ho * Wo, kh * kw * C): row (n, ho, wo), column (i, j, c) = x[n, ho*sh - pt + i,
// wo*sw - pl + j, c], zero in the padding. The column order matches a Keras kernel (kh, kw, C, F)
// seen as a (kh * kw * C, F) matrix.
void im2col(const float* x, const Window2d& g, float* cols, cudaStream_t stream);
// dx (N, H, W, C) = the sum of every cols entry that im2col copied from that element (the
// adjoint of im2col). Each dx element gathers its own terms: no atomics, a fixed order.
void col2im(const float* cols, const Window2d& g, float* dx, cudaStream_t stream);

}  // namespace shendu::cuda
