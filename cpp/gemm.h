// Single-precision GEMM, row-major: C[M,N] = alpha * op(A) * op(B) + beta * C,
// op(A) is A[M,K] (lda >= K) or, transposed, A stored as [K,M] (lda >= M); likewise B.
// Every kernel family that needs a matrix product calls this. Called from the calling thread it
// threads itself; called inside a parallel region it runs on that one thread. beta == 0 never
// reads C (NaN-safe).
#pragma once
#include <cstdint>

namespace shendu {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc);

}  // namespace shendu
