// Element-wise activations and their backward (from the forward output y), on device arrays.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// The values are part of the module's interface (shendu/_cuda.py passes them as ints).
enum class Activation : int { Linear = 0, Relu = 1, Sigmoid = 2, Tanh = 3 };

// y = act(x) over n elements (y may alias x).
void activation_forward(Activation act, const float* x, float* y, int64_t n, cudaStream_t stream);
// dx = dL/dx from dy and the forward output y (dx may alias dy).
void activation_backward(Activation act, const float* dy, const float* y, float* dx, int64_t n,
                         cudaStream_t stream);

}  // namespace shendu::cuda
