// SGEMM on device arrays, row-major: C (M x N, ldc) = act(op(A) @ op(B) + bias).
// op(A) is M x K: A is M x K (lda >= K), or K x M (lda >= M) when trans_a; likewise op(B) is
// K x N from B K x N, or N x K when trans_b. bias (N,) or nullptr. Any M, N, K >= 0 (K == 0 gives
// act(bias)). The kernels form a ladder, each step its own file (after siboehm's SGEMM_CUDA),
// all kept so each can be tested against the reference.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "activation.h"

namespace shendu::cuda {

enum class SgemmKernel : int {
  Naive = 0,      // one thread per output, operands straight from global memory
  Smem = 1,       // 32 x 32 tiles staged in shared memory
  BlockTile = 2,  // 128 x 128 block tiles, 8 x 8 outputs per thread in registers
  WarpTile = 3,   // warp tiles, float4 loads, register-prefetch double buffering (the default)
};

void sgemm(SgemmKernel kernel, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
           const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
           const float* bias, Activation act, cudaStream_t stream);

}  // namespace shendu::cuda
