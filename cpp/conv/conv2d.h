// 2-D convolution (cross-correlation) in Keras layouts: x (N, H, W, C), w (KH, KW, C, F),
// y (N, Ho, Wo, F). Lowered to sgemm through im2col, chunked so the workspace stays bounded.
#pragma once
#include <cstdint>

#include "common/window2d.h"

namespace shendu {

struct Conv2dShape {
  int64_t n, c, f;
  Axis h, w;  // h.kernel = KH, w.kernel = KW
};

// t (cols x rows) = a^T for a (rows x cols): the backward's filters for dx, in the im2col and
// Winograd paths alike.
void transpose(const float* a, int64_t rows, int64_t cols, float* t);

// y = conv(x, w) + b; b may be null.
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y);

// dx = col2im(dy @ w^T), dw = im2col(x)^T @ dy, db = dy summed over N, Ho, Wo. dx may be null
// (a network's first layer needs no gradient for its input data): not computed.
void conv2d_backward(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db);

// dx of conv2d_backward alone (no dw, db): the transposed convolution's forward.
void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx);

// sums[f] = a[r, f] summed over rows r of a (rows x F), in an order that does not depend on the
// thread count.
void column_sums(const float* a, int64_t rows, int64_t F, float* sums);

}  // namespace shendu
