// Activations (relu, sigmoid, tanh, softmax over the last axis) and their backward passes, also
// used as the fused epilogue of dense layers. Arrays are contiguous float32, viewed as rows x cols
// (cols = the last axis); y may alias x and dx may alias dy. Threaded; NaN propagates.
#pragma once
#include <cstdint>

namespace shendu {

enum class Activation { Linear, Relu, Sigmoid, Tanh, Softmax };

// y = act(x + bias) row by row; bias (cols,) may be null.
void activate(Activation act, const float* x, const float* bias, float* y, int64_t rows,
              int64_t cols);

// dx = dL/dx from dy = dL/dy and y = act(x): relu dy * (y > 0), sigmoid dy * y * (1 - y),
// tanh dy * (1 - y^2), softmax y * (dy - sum(dy * y)) over each row.
void activate_backward(Activation act, const float* dy, const float* y, float* dx, int64_t rows,
                       int64_t cols);

}  // namespace shendu
