#include "launch.h"
#include "optimizers.h"

namespace shendu::cuda {

namespace {


__global__ void sgd_kernel(float* param, const float* grad, float* velocity, int64_t n, float lr,
                           float momentum, bool nesterov) {
  SHENDU_GRID_STRIDE(i, n) {
    const float g = grad[i];
    if (!velocity) {
      param[i] -= lr * g;
      continue;
    }
    const float v = momentum * velocity[i] - lr * g;
    velocity[i] = v;
    param[i] += nesterov ? momentum * v - lr * g : v;
  }
}

__global__ void adam_kernel(float* param, const float* grad, const float* grad_sq, float* m,
                            float* v, int64_t n, float lr_t, float beta_1, float beta_2,
                            float epsilon) {
  SHENDU_GRID_STRIDE(i, n) {
    const float g = grad[i];
    const float g2 = grad_sq ? grad_sq[i] : g * g;
    const float mi = m[i] + (g - m[i]) * (1.0f - beta_1);
    const float vi = v[i] + (g2 - v[i]) * (1.0f - beta_2);
    m[i] = mi;
    v[i] = vi;
    param[i] -= lr_t * mi / (sqrtf(vi) + epsilon);
  }
}

__global__ void rmsprop_kernel(float* param, const float* grad, const float* grad_sq,
                               float* avg_sq, int64_t n, float lr, float rho, float epsilon) {
  SHENDU_GRID_STRIDE(i, n) {
    const float g = grad[i];
    const float a = rho * avg_sq[i] + (1.0f - rho) * (grad_sq ? grad_sq[i] : g * g);
    avg_sq[i] = a;
    param[i] -= lr * g / sqrtf(a + epsilon);
  }
}

}  // namespace

void sgd_update(float* param, const float* grad, float* velocity, int64_t n, float lr,
                float momentum, bool nesterov, cudaStream_t stream) {
  if (n == 0) return;
  sgd_kernel<<<grid_for(n, 256), 256, 0, stream>>>(param, grad, velocity, n, lr, momentum,
                                                   nesterov);
  check_launch("sgd_update");
}

void adam_update(float* param, const float* grad, const float* grad_sq, float* m, float* v,
                 int64_t n, float lr_t, float beta_1, float beta_2, float epsilon,
                 cudaStream_t stream) {
  if (n == 0) return;
  adam_kernel<<<grid_for(n, 256), 256, 0, stream>>>(param, grad, grad_sq, m, v, n, lr_t, beta_1,
                                                    beta_2, epsilon);
  check_launch("adam_update");
}

void rmsprop_update(float* param, const float* grad, const float* grad_sq, float* avg_sq,
                    int64_t n, float lr, float rho, float epsilon, cudaStream_t stream) {
  if (n == 0) return;
  rmsprop_kernel<<<grid_for(n, 256), 256, 0, stream>>>(param, grad, grad_sq, avg_sq, n, lr, rho,
                                                       epsilon);
  check_launch("rmsprop_update");
}

}  // namespace shendu::cuda
