// Step 1: one thread per output; the baseline every other kernel is measured against.
#include "launch.h"
#include "sgemm_common.cuh"

namespace shendu::cuda::gemm {

namespace {

constexpr int TILE = 16;  // a block's outputs: TILE x TILE, one per thread

__global__ void sgemm_naive(Args p) {
  // x walks n so that a warp's B reads and C writes are contiguous (without trans_b).
  const TileOrigin t = tile_origin<TILE, TILE>(p.M);
  const int n = t.n0 + threadIdx.x;
  const int m = t.m0 + threadIdx.y;
  if (m >= p.M || n >= p.N) return;
  float acc = 0.0f;
  for (int k = 0; k < p.K; ++k)
    acc += p.A[offset(p.a_k_contig, p.lda, m, k)] * p.B[offset(p.b_k_contig, p.ldb, n, k)];
  store(p, m, n, acc);
}

}  // namespace

void launch_naive(const Args& p, cudaStream_t stream) {
  sgemm_naive<<<tile_blocks(p, TILE, TILE, "sgemm_naive"), dim3(TILE, TILE), 0, stream>>>(p);
  check_launch("sgemm_naive");
}

}  // namespace shendu::cuda::gemm
