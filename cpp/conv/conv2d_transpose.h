// Transposed 2-D convolution in Keras layouts: x (N, Hi, Wi, Ci), w (KH, KW, F, Ci),
// y (N, H, W, F). It is the input gradient of the conv2d s that maps y's shape to x's (s.c = F,
// s.f = Ci, s.h.in = H, s.h.out = Hi), so it runs on conv2d's own kernels: the forward is that
// conv2d's backward data pass, the backward is its forward (dx) and its weight gradient (dw).
#pragma once
#include "conv/conv2d.h"

namespace shendu {

// y = conv2d_backward_data(x, w) + b; b may be null.
void conv2d_transpose_forward(const Conv2dShape& s, const float* x, const float* w,
                              const float* b, float* y);

// dx = conv2d(dy, w), dw = conv2d's dw with dy and x exchanged, db = dy summed over N, H, W. dx
// may be null (not computed).
void conv2d_transpose_backward(const Conv2dShape& s, const float* dy, const float* x,
                               const float* w, float* dx, float* dw, float* db);

}  // namespace shendu
