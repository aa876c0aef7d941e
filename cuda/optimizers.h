// Fused in-place optimizer updates (Keras 3 formulas, see shendu.ops) over n parameters.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// velocity may be nullptr (then momentum must be 0 and param -= lr * grad).
void sgd_update(float* param, const float* grad, float* velocity, int64_t n, float lr,
                float momentum, bool nesterov, cudaStream_t stream);
// grad_sq: the squared gradient, or nullptr for grad**2 (see cpp/optimizers.h).
// lr_t = lr * sqrt(1 - beta_2**step) / (1 - beta_1**step), computed by the caller.
void adam_update(float* param, const float* grad, const float* grad_sq, float* m, float* v,
                 int64_t n, float lr_t, float beta_1, float beta_2, float epsilon,
                 cudaStream_t stream);
void rmsprop_update(float* param, const float* grad, const float* grad_sq, float* avg_sq,
                    int64_t n, float lr, float rho, float epsilon, cudaStream_t stream);

}  // namespace shendu::cuda
