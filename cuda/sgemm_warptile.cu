// Step 4: warp tiling with vectorized loads and double buffering.
//
// A block of 256 threads computes a 128 x 128 tile of C. Its 8 warps are laid out 2 (M) x 4 (N),
// each owning a 64 x 32 warp tile, which it covers as 2 x 2 sub-tiles of 32 x 16; within a
// sub-tile the 32 lanes form an 8 x 4 grid of 4 x 4 outputs. That way a warp's float4 reads of a
// shared-memory row touch 8 (A) or 4 (B) consecutive float4s: broadcasts, no bank conflicts.
//
// Global -> shared: each thread moves one float4 of the A tile and one of the B tile per K-slice
// (vectorized when the rows are 16-byte aligned and the 4 values lie inside the matrix, else
// element-wise with zero fill, which is what makes edge tiles correct). The next slice is read
// into registers while the current one is multiplied out of the other shared buffer, so one
// __syncthreads per slice suffices.
#include <type_traits>

#include "launch.h"
#include "sgemm_common.cuh"

namespace shendu::cuda::gemm {

namespace {

constexpr int BM = 128, BN = 128, BK = 8, THREADS = 256;
constexpr int WM = 64, WN = 32;          // warp tile
constexpr int WARPS_N = BN / WN;         // 4 (and BM / WM = 2 warps along M)
constexpr int SUB_M = 32, SUB_N = 16;    // warp sub-tile: 8 x 4 lanes of 4 x 4 outputs
constexpr int ITER_M = WM / SUB_M, ITER_N = WN / SUB_N;
constexpr int PAD = 4;                   // keeps rows 16-byte aligned, spreads transposing stores
constexpr int LDA_S = BM + PAD, LDB_S = BN + PAD;
static_assert((BM / WM) * WARPS_N * 32 == THREADS, "one warp per warp tile");
static_assert(BM * BK / 4 == THREADS && BN * BK / 4 == THREADS, "one float4 per thread per tile");

// One thread's share of an operand's tile traffic: one float4 of its ROWS x BK tile per slice,
// 4 consecutive k when K is the contiguous axis in memory, else 4 consecutive rows.
struct ChunkLoader {
  const float* X;
  int64_t ld;
  int rows, K;
  bool k_contig, vec;
  int r, k;  // the chunk's place in the tile

  template <int ROWS>
  __device__ __forceinline__ ChunkLoader(const float* X_, int64_t ld_, int rows_, int K_,
                                         bool k_contig_, bool vec_, int tid,
                                         std::integral_constant<int, ROWS>)
      : X(X_), ld(ld_), rows(rows_), K(K_), k_contig(k_contig_), vec(vec_) {
    r = k_contig ? tid / (BK / 4) : (tid % (ROWS / 4)) * 4;
    k = k_contig ? (tid % (BK / 4)) * 4 : tid / (ROWS / 4);
  }

  // The chunk of the tile at (r0, k0); zero outside the matrix.
  __device__ __forceinline__ float4 load(int r0, int k0) const {
    const int gr = r0 + r, gk = k0 + k;
    const int avail = k_contig ? (gr < rows ? K - gk : 0) : (gk < K ? rows - gr : 0);
    const float* src = X + offset(k_contig, ld, gr, gk);
    if (vec && avail >= 4) return *reinterpret_cast<const float4*>(src);
    float v[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) v[i] = i < avail ? src[i] : 0.0f;
    return make_float4(v[0], v[1], v[2], v[3]);
  }

  // Into the [k][row] tile S with row stride LD.
  template <int LD>
  __device__ __forceinline__ void store(float* S, float4 v) const {
    if (k_contig) {  // transpose
      S[(k + 0) * LD + r] = v.x;
      S[(k + 1) * LD + r] = v.y;
      S[(k + 2) * LD + r] = v.z;
      S[(k + 3) * LD + r] = v.w;
    } else {
      *reinterpret_cast<float4*>(&S[k * LD + r]) = v;
    }
  }
};

__global__ void __launch_bounds__(THREADS) sgemm_warptile(Args p) {
  __shared__ __align__(16) float As[2][BK * LDA_S];
  __shared__ __align__(16) float Bs[2][BK * LDB_S];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const auto [m0, n0] = tile_origin<BM, BN>(p.M);
  const int wm = (warp / WARPS_N) * WM + (lane / 4) * 4;  // + i * SUB_M: this lane's rows
  const int wn = (warp % WARPS_N) * WN + (lane % 4) * 4;  // + j * SUB_N: this lane's columns

  const ChunkLoader a_tile(p.A, p.lda, p.M, p.K, p.a_k_contig, p.vec_a, tid,
                           std::integral_constant<int, BM>{});
  const ChunkLoader b_tile(p.B, p.ldb, p.N, p.K, p.b_k_contig, p.vec_b, tid,
                           std::integral_constant<int, BN>{});
  float4 a_next = a_tile.load(m0, 0);
  float4 b_next = b_tile.load(n0, 0);
  a_tile.store<LDA_S>(As[0], a_next);
  b_tile.store<LDB_S>(Bs[0], b_next);
  __syncthreads();

  float acc[ITER_M][ITER_N][4][4] = {};
  const int slices = (p.K + BK - 1) / BK;
  for (int s = 0; s < slices; ++s) {
    const int cur = s & 1;
    const bool more = s + 1 < slices;
    if (more) {  // issue the next slice's global reads before the math that hides them
      const int k0 = (s + 1) * BK;
      a_next = a_tile.load(m0, k0);
      b_next = b_tile.load(n0, k0);
    }
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float4 a[ITER_M], b[ITER_N];
#pragma unroll
      for (int i = 0; i < ITER_M; ++i)
        a[i] = *reinterpret_cast<const float4*>(&As[cur][k * LDA_S + wm + i * SUB_M]);
#pragma unroll
      for (int j = 0; j < ITER_N; ++j)
        b[j] = *reinterpret_cast<const float4*>(&Bs[cur][k * LDB_S + wn + j * SUB_N]);
#pragma unroll
      for (int i = 0; i < ITER_M; ++i) {
        const float av[4] = {a[i].x, a[i].y, a[i].z, a[i].w};
#pragma unroll
        for (int j = 0; j < ITER_N; ++j) {
          const float bv[4] = {b[j].x, b[j].y, b[j].z, b[j].w};
#pragma unroll
          for (int ii = 0; ii < 4; ++ii)
#pragma unroll
            for (int jj = 0; jj < 4; ++jj) acc[i][j][ii][jj] += av[ii] * bv[jj];
        }
      }
    }
    // The other buffer was last read in slice s - 1, which every thread finished before the
    // barrier that ended it; the barrier below publishes it for slice s + 1.
    if (more) {
      a_tile.store<LDA_S>(As[cur ^ 1], a_next);
      b_tile.store<LDB_S>(Bs[cur ^ 1], b_next);
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < ITER_M; ++i)
#pragma unroll
    for (int ii = 0; ii < 4; ++ii) {
      const int m = m0 + wm + i * SUB_M + ii;
      if (m >= p.M) continue;
#pragma unroll
      for (int j = 0; j < ITER_N; ++j) {
        const int n = n0 + wn + j * SUB_N;
        float* dst = p.C + int64_t(m) * p.ldc + n;
        if (p.vec_c && n + 3 < p.N) {
          *reinterpret_cast<float4*>(dst) =
              make_float4(epilogue(p, n, acc[i][j][ii][0]), epilogue(p, n + 1, acc[i][j][ii][1]),
                          epilogue(p, n + 2, acc[i][j][ii][2]), epilogue(p, n + 3, acc[i][j][ii][3]));
        } else {
#pragma unroll
          for (int jj = 0; jj < 4; ++jj)
            if (n + jj < p.N) dst[jj] = epilogue(p, n + jj, acc[i][j][ii][jj]);
        }
      }
    }
}

}  // namespace

void launch_warptile(const Args& p, cudaStream_t stream) {
  sgemm_warptile<<<tile_blocks(p, BM, BN, "sgemm_warptile"), THREADS, 0, stream>>>(p);
  check_launch("sgemm_warptile");
}

}  // namespace shendu::cuda::gemm
