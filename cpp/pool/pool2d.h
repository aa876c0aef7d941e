// 2-D max and average pooling over NHWC images, one pass each, parallel over output lines
// (forward) and input lines (backward).
#pragma once
#include <cstdint>

#include "common/window2d.h"

namespace shendu {

struct Pool2dShape {
  int64_t n, c;
  Axis h, w;  // h.kernel, w.kernel: the pool size
};

// max_pool2d's argmax names a cell by its place in the pool window, i * pool_w + j for tap row i
// and column j (padded taps count), so it fits a byte for windows of up to 256 cells: a quarter
// of the traffic of a float, an eighth of an int64 flat index. Index is uint8_t for such windows
// and uint16_t for larger ones (the binding picks; windows over 65536 cells are refused).
constexpr int64_t kMaxPoolByteArea = 256;
constexpr int64_t kMaxPoolArea = 65536;

// y = max over each window's real cells; argmax = its tap: the first maximum in row-major window
// order, or the first NaN.
template <class Index>
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y, Index* argmax);

// dx = each dy (the shape of y) routed to the cell its argmax names, summed where overlapping
// windows pick the same cell. Every dx cell is written once, in a fixed order (no zero-fill pass,
// no scatter). Returns -1, or the flat index into argmax of the first value that names no real
// cell of its window: dx is then not the gradient and the caller must raise.
template <class Index>
int64_t max_pool2d_backward(const Pool2dShape& s, const float* dy, const Index* argmax,
                            float* dx);

// y = mean over each window's real cells (padding is not counted).
void avg_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx);

}  // namespace shendu
