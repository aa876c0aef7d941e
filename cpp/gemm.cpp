// SGEMM framework (GotoBLAS/BLIS structure), written once for every ISA:
//
//   for jc in N by nc:            B panel kc x nc, packed in nr-wide micro-panels
//     for pc in K by kc:
//       for ic in M by mc:        A block mc x kc, packed in mr-tall micro-panels
//         for each (jr, ir) tile: micro-kernel on one B micro-panel (L1) and one A micro-panel
//
// Small layer shapes skip packing where it cannot pay: B (not transposed) is read in place when
// C has few rows, A when C has few columns.
//
// Transposes are absorbed by the packing, edges by smaller micro-kernel instantiations (no
// padded work, no scalar path). The (jr, ir) tiles of a block are split between the threads in
// contiguous runs, so every element of C is computed by one thread in the same order whatever
// the thread count: results do not depend on it.
#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu_features.h"
#include "gemm_kernel.h"
#include "gemm_microkernel.h"
#include "parallel.h"

namespace shendu {
namespace gemm {
namespace {

// Portable vectors (GCC/Clang vector extensions): SSE2 on x86-64, NEON elsewhere.
struct Portable {
  typedef float V __attribute__((vector_size(16)));
  static constexpr int W = 4;
  static V zero() { return V{0.0f, 0.0f, 0.0f, 0.0f}; }
  static V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(float* p, V v) { std::memcpy(p, &v, sizeof v); }
  static V bcast(float x) { return V{x, x, x, x}; }
  static V mul(V a, V b) { return a * b; }
  static V fmadd(V a, V b, V c) { return a * b + c; }
  static V load_n(const float* p, int n) {
    V v = zero();
    std::memcpy(&v, p, n * sizeof(float));
    return v;
  }
  static void store_n(float* p, V v, int n) { std::memcpy(p, &v, n * sizeof(float)); }
};

constexpr Kernel kGeneric = MicroKernel<Portable, 6, 2>::make(120, 256, 4096);

}  // namespace

const Kernel& kernel_generic() { return kGeneric; }

namespace {

const Kernel& active_kernel() {
  switch (active_isa()) {
    case Isa::Avx512: return kernel_avx512();
    case Isa::Avx2: return kernel_avx2();
    default: return kernel_generic();
  }
}

// Below this many flops the product runs on the calling thread (waking the pool and the
// barriers between packing and compute cost more than the second core gains).
constexpr int64_t kParallelMinFlops = int64_t{1} << 21;
// With at most this many rows of C, each B micro-panel is used by so few A micro-panels that
// packing B costs more than it saves: the micro-kernel reads B (not transposed) in place.
constexpr int64_t kPackBMinRows = 96;
// Likewise A, when C has at most this many micro-panel columns (layer shapes: N of 10 to 128).
constexpr int64_t kPackAMinPanels = 5;
// Largest B panel (floats) for the ir-major tile order: a quarter of a 2 MiB L2.
constexpr int64_t kIrMajorMaxPanel = 128 * 1024;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// 64-byte aligned scratch that grows and persists per calling thread, so repeated products of
// the same shapes allocate nothing.
float* scratch(std::vector<float>& buf, size_t n) {
  if (buf.size() < n + 16) buf.resize(n + 16);
  const auto addr = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + ((64 - addr % 64) % 64) / sizeof(float);
}

// A micro-panel: rows [i0, i0 + m) x columns [k0, k0 + kc) of op(A) as dst[k * mr + i].
// Rows m..mr stay unwritten: the micro-kernel for m rows never reads them.
void pack_a(bool trans, const float* A, int64_t lda, int64_t i0, int m, int64_t k0, int64_t kc,
            int mr, float* dst) {
  if (trans) {  // op(A)(i, k) = A[k * lda + i]: each k is a contiguous run of m
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = A + (k0 + k) * lda + i0;
      float* d = dst + k * mr;
      std::copy(src, src + m, d);
    }
  } else {
    for (int i = 0; i < m; ++i) {
      const float* src = A + (i0 + i) * lda + k0;
      for (int64_t k = 0; k < kc; ++k) dst[k * mr + i] = src[k];
    }
  }
}

// B micro-panel: rows [k0, k0 + kc) x columns [j0, j0 + n) of op(B) as dst[k * nr + j], zero-padded
// to nr columns (the micro-kernel loads whole vectors).
void pack_b(bool trans, const float* B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int n,
            int nr, float* dst) {
  if (trans) {  // op(B)(k, j) = B[j * ldb + k]
    for (int64_t k = 0; k < kc; ++k) std::fill(dst + k * nr + n, dst + (k + 1) * nr, 0.0f);
    for (int j = 0; j < n; ++j) {
      const float* src = B + (j0 + j) * ldb + k0;
      for (int64_t k = 0; k < kc; ++k) dst[k * nr + j] = src[k];
    }
  } else {
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = B + (k0 + k) * ldb + j0;
      float* d = dst + k * nr;
      std::copy(src, src + n, d);
      std::fill(d + n, d + nr, 0.0f);
    }
  }
}

// C = beta * C, for K == 0 (beta == 0 writes zeros without reading C).
void scale(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f)
      std::fill(c, c + N, 0.0f);
    else
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
  }
}

void barrier(int threads) {
  if (threads > 1) {
#pragma omp barrier
  }
}

// [begin, end) of the t-th of `threads` contiguous shares of n items.
std::pair<int64_t, int64_t> share(int64_t n, int t, int threads) {
  return {n * t / threads, n * (t + 1) / threads};
}

}  // namespace
}  // namespace gemm

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc) {
  using namespace gemm;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    scale(M, N, beta, C, ldc);
    return;
  }
  const Kernel& ker = active_kernel();
  const int mr = ker.mr, nr = ker.nr;
  // Equal k blocks: a short last block would reload C for little work.
  const int64_t KC = ceil_div(K, ceil_div(K, ker.kc));
  const int64_t MC = ker.mc, NC = std::min(ker.nc, N);
  const bool pack_all_b = trans_b || M > kPackBMinRows;
  const bool pack_a_block = ceil_div(N, nr) >= kPackAMinPanels;
  // Tile order. ir-major (for each A micro-panel, every B micro-panel) keeps the A micro-panel in
  // L1 and splits C between threads by rows, so each packs only its share of A; it needs the
  // whole B panel in L2. Otherwise jr-major: the B micro-panel stays in L1, the A block in L2
  // (each thread packs all of it), and a thread's run mostly uses the B panels it packed.
  const bool ir_major = !pack_a_block || KC * NC <= kIrMajorMaxPanel;

  thread_local std::vector<float> b_store;
  float* bbuf = scratch(b_store, static_cast<size_t>(ceil_div(NC, nr) * nr * KC));

  int threads = 2 * M * N * K < kParallelMinFlops ? 1 : num_threads();
  threads = static_cast<int>(std::min<int64_t>(
      threads, ceil_div(std::min(M, MC), mr) * ceil_div(NC, nr)));  // at least a tile each

  auto run = [&](int t, int threads) {
    DenormalGuard guard;
    // Every thread packs the A micro-panels it uses for itself: packing is cheap next to the
    // products, and this keeps A in the core's own L2 and saves a barrier per block.
    thread_local std::vector<float> a_store;
    float* abuf =
        pack_a_block ? scratch(a_store, static_cast<size_t>(std::min(MC, ceil_div(M, mr) * mr) * KC))
                     : nullptr;
    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc);
      const int64_t n_panels = ceil_div(nc, nr);
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        // In-place B needs full-width panels; the ragged last one is always packed.
        auto packed = [&](int64_t jr) { return pack_all_b || (jr + 1) * nr > nc; };
        const bool any_packed = pack_all_b || nc % nr != 0;
        const auto [b0, b1] = share(n_panels, t, threads);
        for (int64_t jr = b0; jr < b1; ++jr)
          if (packed(jr))
            pack_b(trans_b, B, ldb, pc, kc, jc + jr * nr,
                   static_cast<int>(std::min<int64_t>(nr, nc - jr * nr)), nr, bbuf + jr * nr * kc);
        if (any_packed) barrier(threads);
        for (int64_t ic = 0; ic < M; ic += MC) {
          const int64_t mc = std::min(MC, M - ic);
          const int64_t m_panels = ceil_div(mc, mr);
          const auto [t0, t1] = share(n_panels * m_panels, t, threads);
          // ir-major: this thread packs only the A micro-panels of its own tiles.
          const int64_t ir0 = ir_major ? t0 / n_panels : 0;
          const int64_t ir1 = ir_major ? (t1 + n_panels - 1) / n_panels : m_panels;
          if (pack_a_block)
            for (int64_t ir = ir0; ir < ir1; ++ir)
              pack_a(trans_a, A, lda, ic + ir * mr,
                     static_cast<int>(std::min<int64_t>(mr, mc - ir * mr)), pc, kc, mr,
                     abuf + ir * mr * kc);
          for (int64_t idx = t0; idx < t1; ++idx) {
            const int64_t jr = ir_major ? idx % n_panels : idx / m_panels;
            const int64_t ir = ir_major ? idx / n_panels : idx % m_panels;
            const int64_t i = ic + ir * mr, j = jc + jr * nr;
            const bool pb = packed(jr);
            const float* a = pack_a_block ? abuf + ir * mr * kc
                             : trans_a    ? A + pc * lda + i
                                          : A + i * lda + pc;
            ker.tile(TileArgs{kc, a, pack_a_block ? mr : lda, !pack_a_block && !trans_a,
                              pb ? bbuf + jr * nr * kc : B + pc * ldb + j, pb ? nr : ldb,
                              C + i * ldc + j, ldc, static_cast<int>(std::min<int64_t>(mr, M - i)),
                              static_cast<int>(std::min<int64_t>(nr, N - j)), alpha,
                              pc == 0 ? beta : 1.0f});  // later k blocks accumulate
          }
        }
        if (any_packed) barrier(threads);  // before the next pc repacks B
      }
    }
  };
  if (threads == 1) {
    run(0, 1);
  } else {
#pragma omp parallel num_threads(threads)
    run(omp_get_thread_num(), omp_get_num_threads());  // the team may be smaller than asked
  }
}

}  // namespace shendu
