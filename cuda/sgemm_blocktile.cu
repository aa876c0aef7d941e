// Step 3: 2-D register blocking. A block computes a 128 x 128 tile; each of its 256 threads keeps
// an 8 x 8 sub-tile of C in registers, so every shared-memory value read feeds 8 FMAs.
#include "launch.h"
#include "sgemm_common.cuh"

namespace shendu::cuda::gemm {

namespace {

constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;
constexpr int THREADS = (BM / TM) * (BN / TN);

__global__ void __launch_bounds__(THREADS) sgemm_blocktile(Args p) {
  __shared__ float As[BK * BM];  // [k][m]
  __shared__ float Bs[BK * BN];  // [k][n]
  const int tid = threadIdx.x;
  const int tm = (tid / (BN / TN)) * TM, tn = (tid % (BN / TN)) * TN;
  const auto [m0, n0] = tile_origin<BM, BN>(p.M);
  float acc[TM][TN] = {};
  float a[TM], b[TN];
  for (int k0 = 0; k0 < p.K; k0 += BK) {
    load_tile<BM, BK, THREADS, BM>(As, p.a_k_contig, p.A, p.lda, p.M, p.K, m0, k0, tid);
    load_tile<BN, BK, THREADS, BN>(Bs, p.b_k_contig, p.B, p.ldb, p.N, p.K, n0, k0, tid);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
#pragma unroll
      for (int i = 0; i < TM; ++i) a[i] = As[k * BM + tm + i];
#pragma unroll
      for (int j = 0; j < TN; ++j) b[j] = Bs[k * BN + tn + j];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) store(p, m0 + tm + i, n0 + tn + j, acc[i][j]);
}

}  // namespace

void launch_blocktile(const Args& p, cudaStream_t stream) {
  sgemm_blocktile<<<tile_blocks(p, BM, BN, "sgemm_blocktile"), THREADS, 0, stream>>>(p);
  check_launch("sgemm_blocktile");
}

}  // namespace shendu::cuda::gemm
