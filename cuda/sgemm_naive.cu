// Step 1: one thread per output; the baseline every other kernel is measured against.
#include "launch.h"
#include "sgemm_common.cuh"

namespace shendu::cuda::gemm {

namespace {

__global__ void sgemm_naive(Args p) {
  // x walks n so that a warp's B reads and C writes are contiguous (without trans_b).
  const int n = blockIdx.y * blockDim.x + threadIdx.x;
  const int m = blockIdx.x * blockDim.y + threadIdx.y;
  if (m >= p.M || n >= p.N) return;
  float acc = 0.0f;
  for (int k = 0; k < p.K; ++k)
    acc += p.A[offset(p.a_k_contig, p.lda, m, k)] * p.B[offset(p.b_k_contig, p.ldb, n, k)];
  store(p, m, n, acc);
}

}  // namespace

void launch_naive(const Args& p, cudaStream_t stream) {
  const dim3 block(16, 16);
  const dim3 grid((p.M + 15) / 16, (p.N + 15) / 16);
  if (grid.y > 65535) throw std::invalid_argument("sgemm_naive: N too large");
  sgemm_naive<<<grid, block, 0, stream>>>(p);
  check_launch("sgemm_naive");
}

}  // namespace shendu::cuda::gemm
