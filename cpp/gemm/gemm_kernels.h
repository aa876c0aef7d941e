// The contract between the GEMM framework (gemm.cpp: blocking, packing, threading, written once)
// and the per-ISA micro-kernels (gemm_microkernel.h, instantiated by gemm.cpp, gemm_avx2.cpp and
// gemm_avx512.cpp with their vector types). BLIS's split, with row-major roles:
//
//   C[m, n] (m <= mr, n <= nr) = alpha * A_panel * B_panel + beta * C  (beta == 0: C unread)
//
// A_panel, m x kc: element (i, k) at a[k * lda + i] (a packed panel, lda == mr, or op(A) = A^T in
// place) or, when a_rows, at a[i * lda + k] (op(A) = A in place). A (not transposed) is always
// read in place (the tile order keeps its micro-panel in L1); A^T when few B panels share it.
// B_panel, kc x n: element (k, j) at b[k * ldb + j]: a packed panel (ldb == nr, zero-padded to
// whole vectors) or, for a full-width tile, B in place (ldb = B's row stride), which saves packing
// for small M.
#pragma once
#include <cstdint>

namespace shendu::gemm {

struct TileArgs {
  int64_t kc;
  const float* a;
  int64_t lda;
  bool a_rows;
  const float* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  int m, n;
  float alpha, beta;
};

using TileFn = void (*)(const TileArgs& t);
// The transposing packs: dst[c * ldd + r] = src[r * lds + c] for r < rows, c < cols.
using PackTFn = void (*)(const float* src, int64_t lds, int rows, int64_t cols, float* dst,
                         int64_t ldd);

// The copying packs: dst[r * ldd + c] = src[r * lds + c] for c < n (n <= ldd), then zeros to the
// end of the vector that holds column n - 1 (or to ldd, if sooner): the tiles read whole vectors,
// and only those that hold columns of C.
using PackNFn = void (*)(const float* src, int64_t lds, int n, int64_t rows, float* dst, int ldd);

struct Kernels {
  int mr, nr;          // register tile
  // Cache blocking: B panel kc x nc in L2 (a quarter of 2 MiB: room left for the A block and for
  // other processes sharing the core), A micro-panel mr x kc in L1, packed A^T block mc x kc.
  int64_t mc, kc, nc;
  TileFn tile;
  PackTFn pack_t;  // op(B) = B^T into micro-panels, in register blocks
  PackNFn pack_n;  // op(B) = B and op(A) = A^T into micro-panels, in whole vectors
};

const Kernels& kernels_generic();
const Kernels& kernels_avx2();    // defined in gemm_avx2.cpp (needs AVX2 + FMA)
const Kernels& kernels_avx512();  // defined in gemm_avx512.cpp (needs AVX-512F)

}  // namespace shendu::gemm
