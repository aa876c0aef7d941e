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

// The length of the k-ranges sgemm(..., K, ...) accumulates C over, in order (the last may be
// shorter): C = (...((P_0 + P_1) + P_2) ...) with P_i the product over range i. A caller that
// computes each range's product with its own sgemm (beta = 0) and adds them in that order gets
// sgemm's result bit for bit, e.g. to compute the ranges on different threads.
int64_t sgemm_k_block(int64_t K);

}  // namespace shendu
