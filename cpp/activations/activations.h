// Activations (relu, sigmoid, tanh, softmax over the last axis) and their backward passes, also
// used as the fused epilogue of dense layers; and the other elementwise activations (Pointwise). Arrays are contiguous float32, viewed as rows x cols
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

// Elementwise activations outside the dense epilogue, Keras 3's definitions: gelu (erf) and its
// tanh approximation, silu = x sigmoid(x), elu (alpha), selu, softplus, softsign,
// hard_sigmoid = relu6(x + 3) / 6, hard_silu = x hard_sigmoid(x), leaky_relu (alpha: the
// negative slope), exponential, relu6, mish = x tanh(softplus(x)). Their derivatives need x (not
// only y), so they stay out of the dense epilogue, whose backward keeps y only.
enum class Pointwise {
  Gelu,
  GeluTanh,
  Silu,
  Elu,
  Selu,
  Softplus,
  Softsign,
  HardSigmoid,
  HardSilu,
  LeakyRelu,
  Exponential,
  Relu6,
  Mish,
};

// y = f(x) over n elements; alpha is read by Elu and LeakyRelu only. y may alias x.
void pointwise(Pointwise f, float alpha, const float* x, float* y, int64_t n);

// dx = dy * f'(x), from x and y = f(x). dx may alias dy.
void pointwise_backward(Pointwise f, float alpha, const float* dy, const float* x, const float* y,
                        float* dx, int64_t n);

}  // namespace shendu
