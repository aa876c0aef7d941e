#include "activation.cuh"
#include "launch.h"

namespace shendu::cuda {

namespace {

__global__ void activation_forward_kernel(Activation act, const float* x, float* y, int64_t n) {
  SHENDU_GRID_STRIDE(i, n)
    y[i] = activate(act, x[i]);
}

__global__ void activation_backward_kernel(Activation act, const float* dy, const float* y,
                                           float* dx, int64_t n) {
  SHENDU_GRID_STRIDE(i, n)
    dx[i] = activate_grad(act, dy[i], y[i]);
}

}  // namespace

void activation_forward(Activation act, const float* x, float* y, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  activation_forward_kernel<<<grid_for(n, 256), 256, 0, stream>>>(act, x, y, n);
  check_launch("activation_forward");
}

void activation_backward(Activation act, const float* dy, const float* y, float* dx, int64_t n,
                         cudaStream_t stream) {
  if (n == 0) return;
  activation_backward_kernel<<<grid_for(n, 256), 256, 0, stream>>>(act, dy, y, dx, n);
  check_launch("activation_backward");
}

}  // namespace shendu::cuda
