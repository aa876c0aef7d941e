// Dilated 2-D convolutions, full and depthwise, with strides 1 (the only stride Keras's Conv2D
// allows with a dilation; shendu's depthwise keeps to it too), as undilated ones over the
// dilation's phases, as TensorFlow's space_to_batch does: the padded input cells at rows a,
// a + dh, a + 2 dh, ... and columns b, b + dw, ... form phase image (a, b), in which the dilated
// kernel's taps are adjacent, and the undilated "valid" convolution of that image gives the
// outputs at rows a + i dh and columns b + j dw. The dh * dw phase images of each input image go
// into one batch, so every conv2d path (direct, Winograd, im2col) and the depthwise kernels serve
// them as they are; the phases cost one gather of x and one of y (and of dy and dx in the
// backward).
#pragma once
#include <cstdint>

#include "conv/conv2d.h"
#include "conv/depthwise.h"

namespace shendu {

struct Dilation {
  int64_t h, w;
};

// s: the layer's geometry, with h.kernel and w.kernel the undilated kernel and h.pad, h.out (and
// w's) those of the dilated one, (kernel - 1) * dilation + 1 cells wide; strides 1.
void conv2d_dilated_forward(const Conv2dShape& s, Dilation d, const float* x, const float* w,
                            const float* b, float* y);

// As conv2d_backward: dx may be null (not computed).
void conv2d_dilated_backward(const Conv2dShape& s, Dilation d, const float* dy, const float* x,
                             const float* w, float* dx, float* dw, float* db);

// The same for depthwise_forward / depthwise_backward, s's axes as above.
void depthwise_dilated_forward(const DepthwiseShape& s, Dilation d, const float* x,
                               const float* w, const float* b, float* y);
void depthwise_dilated_backward(const DepthwiseShape& s, Dilation d, const float* dy,
                                const float* x, const float* w, float* dx, float* dw, float* db);

}  // namespace shendu
