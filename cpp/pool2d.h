// 2-D max and average pooling over NHWC images, one pass each, parallel over output lines.
#pragma once
#include <cstdint>

#include "window2d.h"

namespace shendu {

struct Pool2dShape {
  int64_t n, c;
  Axis h, w;  // h.kernel, w.kernel: the pool size
};

// y = max over each window's real cells; argmax = h * W + w of the winner within its (n, :, :, c)
// plane: the first maximum in row-major window order, or the first NaN.
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, int64_t* argmax);

// dx (n, in_plane cells, c) = 0, then each dy (n, out_plane cells, c) added at its argmax cell.
// Returns false if some argmax value lies outside [0, in_plane) (those are skipped; dx is then
// not the gradient and the caller must raise).
bool max_pool2d_backward(int64_t n, int64_t in_plane, int64_t out_plane, int64_t c,
                         const float* dy, const int64_t* argmax, float* dx);

// y = mean over each window's real cells (padding is not counted).
void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx);

}  // namespace shendu
