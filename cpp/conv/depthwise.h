// Depthwise 2-D convolution in Keras layouts: x (N, H, W, C), w (KH, KW, C, M), b (C * M),
// y (N, Ho, Wo, C * M); output channel c * M + m is input channel c through filter w[:, :, c, m]
// (M: the depth multiplier).
#pragma once
#include <cstdint>

#include "common/window2d.h"

namespace shendu {

struct DepthwiseShape {
  int64_t n, c, m;
  Axis h, w;  // h.kernel = KH, w.kernel = KW
};

// y = depthwise(x, w) + b; b may be null.
void depthwise_forward(const DepthwiseShape& s, const float* x, const float* w, const float* b,
                       float* y);

// dx, dw and db (dy summed over N, Ho, Wo) given dy. dx may be null (not computed).
void depthwise_backward(const DepthwiseShape& s, const float* dy, const float* x, const float* w,
                        float* dx, float* dw, float* db);

}  // namespace shendu
