#include <climits>
#include <cstdint>
#include <stdexcept>

#include "launch.h"
#include "sgemm_common.cuh"

namespace shendu::cuda {

namespace {

bool rows_aligned(const void* p, int64_t ld) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0;
}

}  // namespace

void sgemm(SgemmKernel kernel, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
           const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
           const float* bias, Activation act, cudaStream_t stream) {
  if (M < 0 || N < 0 || K < 0 || M > INT_MAX || N > INT_MAX || K > INT_MAX)
    throw std::invalid_argument("sgemm: dimensions must lie in [0, 2**31)");
  if (M == 0 || N == 0) return;
  const gemm::Args p{int(M), int(N), int(K), A, lda, B, ldb, C, ldc, bias, act, !trans_a, trans_b,
                     rows_aligned(A, lda), rows_aligned(B, ldb), rows_aligned(C, ldc)};
  switch (kernel) {
    case SgemmKernel::Naive: gemm::launch_naive(p, stream); break;
    case SgemmKernel::Smem: gemm::launch_smem(p, stream); break;
    case SgemmKernel::BlockTile: gemm::launch_blocktile(p, stream); break;
    case SgemmKernel::WarpTile: gemm::launch_warptile(p, stream); break;
    default: throw std::invalid_argument("sgemm: unknown kernel");
  }
}

}  // namespace shendu::cuda
