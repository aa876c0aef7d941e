// Device-side activation formulas, shared by the element-wise kernels and the SGEMM epilogue.
#pragma once
#include "activation.h"

namespace shendu::cuda {

__device__ __forceinline__ float activate(Activation act, float x) {
  switch (act) {
    case Activation::Relu: return x < 0.0f ? 0.0f : x;  // not fmaxf: NaN must propagate
    case Activation::Sigmoid: return 1.0f / (1.0f + expf(-x));
    case Activation::Tanh: return tanhf(x);
    default: return x;
  }
}

// dL/dx in terms of the output y, which is what the forward keeps.
__device__ __forceinline__ float activate_grad(Activation act, float dy, float y) {
  switch (act) {
    case Activation::Relu: return y > 0.0f ? dy : 0.0f;
    case Activation::Sigmoid: return dy * y * (1.0f - y);
    case Activation::Tanh: return dy * (1.0f - y * y);
    default: return dy;
  }
}

}  // namespace shendu::cuda
