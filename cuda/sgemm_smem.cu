// Step 2: 32 x 32 output tiles; each K-slice of A and B is staged once in shared memory and read
// 32 times from there instead of from global memory.
#include "launch.h"
#include "sgemm_common.cuh"

namespace shendu::cuda::gemm {

namespace {

constexpr int TILE = 32;

__global__ void __launch_bounds__(TILE * TILE) sgemm_smem(Args p) {
  // [k][row]; the +1 column keeps the transposing stores free of bank conflicts.
  __shared__ float As[TILE * (TILE + 1)];
  __shared__ float Bs[TILE * (TILE + 1)];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * TILE + tx;
  const auto [m0, n0] = tile_origin<TILE, TILE>(p.M);
  float acc = 0.0f;
  for (int k0 = 0; k0 < p.K; k0 += TILE) {
    load_tile<TILE, TILE, TILE * TILE, TILE + 1>(As, p.a_k_contig, p.A, p.lda, p.M, p.K, m0, k0, tid);
    load_tile<TILE, TILE, TILE * TILE, TILE + 1>(Bs, p.b_k_contig, p.B, p.ldb, p.N, p.K, n0, k0, tid);
    __syncthreads();
    for (int k = 0; k < TILE; ++k) acc += As[k * (TILE + 1) + ty] * Bs[k * (TILE + 1) + tx];
    __syncthreads();  // before the next slice overwrites the tiles
  }
  store(p, m0 + ty, n0 + tx, acc);
}

}  // namespace

void launch_smem(const Args& p, cudaStream_t stream) {
  sgemm_smem<<<tile_blocks(p, TILE, TILE, "sgemm_smem"), dim3(TILE, TILE), 0, stream>>>(p);
  check_launch("sgemm_smem");
}

}  // namespace shendu::cuda::gemm
