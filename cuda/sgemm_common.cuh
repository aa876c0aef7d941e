// Pieces every SGEMM kernel shares: the argument block, operand access with transposes, the
// bounds-checked tile loader and the bias + activation epilogue.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "activation.cuh"
#include "sgemm.h"

namespace shendu::cuda::gemm {

struct Args {
  int M, N, K;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
  const float* bias;
  Activation act;
  bool a_k_contig, b_k_contig;  // !trans_a, trans_b
  bool vec_a, vec_b, vec_c;  // 16-byte aligned rows: float4 access is allowed
};

// An operand seen as `rows` x K (rows = M for A, N for B). Element (r, k) sits at X[r * ld + k]
// when K is the contiguous axis, else at X[k * ld + r]. A has K contiguous unless trans_a; B has
// K contiguous only when trans_b. The transposes are runtime flags, not template parameters: they
// only steer the tile loads (uniform branches outside the multiply loops), and four instantiations
// per kernel and architecture would quadruple the nvcc time.
__device__ __forceinline__ int64_t offset(bool k_contig, int64_t ld, int r, int k) {
  return k_contig ? int64_t(r) * ld + k : int64_t(k) * ld + r;
}

// Loads the ROWS x BK tile at (r0, k0) into S[k * LD + r], zero outside the matrix. Consecutive
// threads walk the contiguous global axis, so the reads coalesce.
template <int ROWS, int BK, int THREADS, int LD>
__device__ __forceinline__ void load_tile(float* S, bool k_contig, const float* X, int64_t ld,
                                          int rows, int K, int r0, int k0, int tid) {
  for (int i = tid; i < ROWS * BK; i += THREADS) {
    const int r = k_contig ? i / BK : i % ROWS;
    const int k = k_contig ? i % BK : i / ROWS;
    const int gr = r0 + r, gk = k0 + k;
    S[k * LD + r] = (gr < rows && gk < K) ? X[offset(k_contig, ld, gr, gk)] : 0.0f;
  }
}

__device__ __forceinline__ float epilogue(const Args& p, int n, float acc) {
  return activate(p.act, p.bias ? acc + p.bias[n] : acc);
}

__device__ __forceinline__ void store(const Args& p, int m, int n, float acc) {
  if (m < p.M && n < p.N) p.C[int64_t(m) * p.ldc + n] = epilogue(p, n, acc);
}

// Which BM x BN tile of C a block computes. The grid is one-dimensional over all tiles, M
// fastest (as a 2-D grid with M on x walks them: neighbouring blocks share B's tile column), so
// neither M nor N is bounded by gridDim.y's 65535.
struct TileOrigin {
  int m0, n0;
};

template <int BM, int BN>
__device__ __forceinline__ TileOrigin tile_origin(int M) {
  const unsigned tiles_m = (unsigned(M) + BM - 1) / BM;
  return {int(blockIdx.x % tiles_m) * BM, int(blockIdx.x / tiles_m) * BN};
}

// The block count for BM x BN tiles. More than gridDim.x's 2^31 - 1 tiles would be an output far
// larger than any GPU's memory, but M and N alone do not rule it out.
inline unsigned tile_blocks(const Args& p, int BM, int BN, const char* kernel) {
  const int64_t blocks = ((int64_t(p.M) + BM - 1) / BM) * ((int64_t(p.N) + BN - 1) / BN);
  if (blocks > 0x7fffffff)
    throw std::invalid_argument(std::string(kernel) + ": C has more than 2^31 - 1 tiles");
  return unsigned(blocks);
}

// The ladder, one launcher per file (sgemm_<name>.cu).
void launch_naive(const Args& p, cudaStream_t stream);
void launch_smem(const Args& p, cudaStream_t stream);
void launch_blocktile(const Args& p, cudaStream_t stream);
void launch_warptile(const Args& p, cudaStream_t stream);

}  // namespace shendu::cuda::gemm
