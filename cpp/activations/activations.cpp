#include "activations/activations.h"

#include "activations/activation_kernels.h"
#include "common/cpu_features.h"
#include "common/parallel.h"

namespace shendu {
namespace activation {

const Kernels& kernels_generic() { return Loops<0>::kKernels; }

namespace {

const Kernels& active() { return for_isa(kernels_generic, kernels_avx2, kernels_avx512); }

// Rough flops per element, to decide when threads pay.
int64_t cost(Activation act) {
  switch (act) {
    case Activation::Sigmoid:
    case Activation::Tanh:
    case Activation::Softmax: return 24;
    default: return 1;
  }
}

// Pointwise activations: the transcendental ones cost like sigmoid; the piecewise-linear ones
// (relu6, hard_sigmoid, leaky_relu, softsign) little more than a copy.
int64_t cost(Pointwise f) {
  switch (f) {
    case Pointwise::Relu6:
    case Pointwise::HardSigmoid:
    case Pointwise::HardSilu:
    case Pointwise::LeakyRelu:
    case Pointwise::Softsign: return 2;
    default: return 24;
  }
}

}  // namespace
}  // namespace activation

void activate(Activation act, const float* x, const float* bias, float* y, int64_t rows,
              int64_t cols) {
  const activation::Kernels& k = activation::active();
  if (!bias && act != Activation::Softmax) {  // elementwise: any split of the flat array works
    parallel_for(rows * cols, activation::cost(act), [&](int64_t i0, int64_t i1) {
      k.forward(act, x + i0, nullptr, y + i0, i1 - i0);
    });
    return;
  }
  parallel_for(rows, cols * activation::cost(act), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) k.forward(act, x + r * cols, bias, y + r * cols, cols);
  });
}

void activate_backward(Activation act, const float* dy, const float* y, float* dx, int64_t rows,
                       int64_t cols) {
  const activation::Kernels& k = activation::active();
  if (act != Activation::Softmax) {
    parallel_for(rows * cols, 4, [&](int64_t i0, int64_t i1) {
      k.backward(act, dy + i0, y + i0, dx + i0, i1 - i0);
    });
    return;
  }
  parallel_for(rows, cols * 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      k.backward(act, dy + r * cols, y + r * cols, dx + r * cols, cols);
  });
}

void pointwise(Pointwise f, float alpha, const float* x, float* y, int64_t n) {
  const activation::Kernels& k = activation::active();
  parallel_for(n, activation::cost(f), [&](int64_t i0, int64_t i1) {
    k.pointwise(f, alpha, x + i0, y + i0, i1 - i0);
  });
}

void pointwise_backward(Pointwise f, float alpha, const float* dy, const float* x, const float* y,
                        float* dx, int64_t n) {
  const activation::Kernels& k = activation::active();
  parallel_for(n, activation::cost(f) * 2, [&](int64_t i0, int64_t i1) {
    k.pointwise_backward(f, alpha, dy + i0, x + i0, y + i0, dx + i0, i1 - i0);
  });
}

}  // namespace shendu
