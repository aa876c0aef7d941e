// The contract between the GEMM framework (gemm.cpp: blocking, packing, threading, written once)
// and the per-ISA micro-kernels (gemm_microkernel.h, instantiated by gemm.cpp, gemm_avx2.cpp and
// gemm_avx512.cpp with their vector types). BLIS's split, with row-major roles:
//
//   C[m, n] (m <= mr, n <= nr) = A_panel * B_panel + beta * C  (beta == 0: C is never read)
//
// A_panel: kc x mr floats, column i of step k at a[k * mr + i] (packed, zero-padded, alpha applied).
// B_panel: kc rows of nr floats at b[k * ldb + j]: a packed panel (ldb == nr, zero-padded) or,
// for a full-width tile, B itself in place (ldb = B's row stride), which saves packing for small M.
#pragma once
#include <cstdint>

namespace shendu::gemm {

using TileFn = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                        int64_t ldc, int m, int n, float beta);

struct Kernel {
  int mr, nr;          // register tile
  int64_t mc, kc, nc;  // cache blocking: A block mc x kc (L2), B micro-panel kc x nr (L1)
  TileFn tile;
};

const Kernel& kernel_generic();
const Kernel& kernel_avx2();    // defined in gemm_avx2.cpp (needs AVX2 + FMA)
const Kernel& kernel_avx512();  // defined in gemm_avx512.cpp (needs AVX-512F)

}  // namespace shendu::gemm
