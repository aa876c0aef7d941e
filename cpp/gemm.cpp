// SGEMM framework (GotoBLAS/BLIS structure), written once for every ISA:
//
//   for jc in N by nc:            B panel kc x nc (L2), packed in nr-wide micro-panels
//     for pc in K by kc:
//       for ic in M by mc:        A^T block mc x kc, packed in mr-tall micro-panels
//         for ir, for jr:         micro-kernel on one A micro-panel (L1) and one B micro-panel
//
// A (not transposed) is read in place: the ir-major tile order keeps its mr x kc micro-panel in
// L1 across the B micro-panels, so a transposing pack would be pure cost. B (not transposed) is
// read in place when C has few rows, A^T when C has few columns: packing them cannot pay there.
//
// Transposes are absorbed by the packing, edges by smaller micro-kernel instantiations (no
// padded work, no scalar path). Threads take whole blocks of C (see sgemm), split by the shape
// alone, so every element of C is computed in the same order whatever the thread count.
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
  static constexpr int T = 4;
  static void transpose(const float* s, int64_t lds, float* d, int64_t ldd) {
    for (int c = 0; c < T; ++c)
      for (int r = 0; r < T; ++r) d[c * ldd + r] = s[r * lds + c];
  }
};

constexpr Kernel kGeneric = MicroKernel<Portable, 6, 2>::make(120, 256, 512);

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

// Products are split into blocks of C of about this many flops (~10 us), at most kMaxBlocks:
// small enough to balance the threads. Blocks that repack a shared operand are at least
// kMinBlockExtent rows/columns, so the repacking stays a few per cent of the work.
constexpr int64_t kBlockFlops = int64_t{1} << 21;
constexpr int64_t kMaxBlocks = 16;
constexpr int64_t kMinBlockExtent = 256;
// With at most this many rows of C, each B micro-panel is used by so few A micro-panels that
// packing B costs more than it saves: the micro-kernel reads B (not transposed) in place.
constexpr int64_t kPackBMinRows = 96;
// Likewise A^T, when C has at most this many micro-panel columns (layer shapes: N of 10 to 128).
// (A^T in place is kc rows at A's stride, which alias in L1 for power-of-two strides: 1024x1024x512
// A^TB ran at 139 GFLOP/s packed, 109-131 in place; its pack is a plain copy.)
constexpr int64_t kPackAMinPanels = 5;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Equal k blocks of at most ker.kc: a short last block would reload C for little work.
int64_t k_block(const Kernel& ker, int64_t K) { return ceil_div(K, ceil_div(K, ker.kc)); }

// Whether A is packed: only A^T (see the top of the file), and only when enough B panels share it.
bool packs_a(const Kernel& ker, bool trans_a, int64_t N) {
  return trans_a && ceil_div(N, ker.nr) >= kPackAMinPanels;
}

// 64-byte aligned scratch that grows and persists per calling thread, so repeated products of
// the same shapes allocate nothing.
float* scratch(std::vector<float>& buf, size_t n) {
  if (buf.size() < n + 16) buf.resize(n + 16);
  const auto addr = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + ((64 - addr % 64) % 64) / sizeof(float);
}

// A^T micro-panel: rows [i0, i0 + m) x columns [k0, k0 + kc) of op(A) = A^T as dst[k * mr + i],
// zero-padded to mr rows. op(A)(i, k) = A[k * lda + i]: each k is a contiguous run of m.
void pack_a_t(const Kernel& ker, const float* A, int64_t lda, int64_t i0, int m, int64_t k0,
              int64_t kc, float* dst) {
  ker.pack_n(A + k0 * lda + i0, lda, m, kc, dst, ker.mr);
}

// B micro-panel: rows [k0, k0 + kc) x columns [j0, j0 + n) of op(B) as dst[k * nr + j], zero-padded
// to nr columns (the micro-kernel loads whole vectors).
void pack_b(const Kernel& ker, bool trans, const float* B, int64_t ldb, int64_t k0, int64_t kc,
            int64_t j0, int n, float* dst) {
  const int nr = ker.nr;
  if (trans) {  // op(B)(k, j) = B[j * ldb + k]
    if (n < nr)
      for (int64_t k = 0; k < kc; ++k) std::fill(dst + k * nr + n, dst + (k + 1) * nr, 0.0f);
    ker.pack_t(B + j0 * ldb + k0, ldb, n, kc, dst, nr);
  } else {
    ker.pack_n(B + k0 * ldb + j0, ldb, n, kc, dst, nr);
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

// The serial BLIS loop nest over one block of C. It packs its own A and B panels, so blocks
// running on different threads never wait for each other.
void sgemm_block(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                 int64_t ldc) {
  const Kernel& ker = active_kernel();
  const int mr = ker.mr, nr = ker.nr;
  const int64_t KC = k_block(ker, K);
  const int64_t MC = ker.mc, NC = std::min(ker.nc, N);
  const bool pack_all_b = trans_b || M > kPackBMinRows;
  const bool pack_a_block = packs_a(ker, trans_a, N);

  thread_local std::vector<float> b_store, a_store;
  float* bbuf = scratch(b_store, static_cast<size_t>(ceil_div(NC, nr) * nr * KC));
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
      for (int64_t jr = 0; jr < n_panels; ++jr)
        if (packed(jr))
          pack_b(ker, trans_b, B, ldb, pc, kc, jc + jr * nr,
                 static_cast<int>(std::min<int64_t>(nr, nc - jr * nr)), bbuf + jr * nr * kc);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min(MC, M - ic);
        const int64_t m_panels = ceil_div(mc, mr);
        if (pack_a_block)
          for (int64_t ir = 0; ir < m_panels; ++ir)
            pack_a_t(ker, A, lda, ic + ir * mr,
                     static_cast<int>(std::min<int64_t>(mr, mc - ir * mr)), pc, kc,
                     abuf + ir * mr * kc);
        for (int64_t idx = 0; idx < n_panels * m_panels; ++idx) {
          // ir-major: the A micro-panel stays in L1 while the B micro-panels stream from L2.
          const int64_t ir = idx / n_panels, jr = idx % n_panels;
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
    }
  }
}

}  // namespace
}  // namespace gemm

int64_t sgemm_k_block(int64_t K) { return K > 0 ? gemm::k_block(gemm::active_kernel(), K) : 0; }

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc) {
  using namespace gemm;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    scale(M, N, beta, C, ldc);
    return;
  }
  // Threads take whole blocks of C along its longer side, in micro-panel multiples; each block is
  // an independent product (duplicate packing of the shared operand costs O(1/block width) of the
  // flops). The split depends on the shape only, so every element is computed the same way
  // whatever the thread count.
  const Kernel& ker = active_kernel();
  const int64_t flops = 2 * M * N * K;
  const int64_t wanted = std::clamp<int64_t>(flops / kBlockFlops, 1, kMaxBlocks);
  const bool split_n = N > M;  // square: split rows, so blocks repack B (contiguous rows), not A
  const int64_t unit = split_n ? ker.nr : ker.mr;
  const int64_t units = ceil_div(split_n ? N : M, unit);
  int64_t blocks = std::min(wanted, units);
  // Blocks that pack the operand they share (A across column blocks, B across row blocks) each
  // repack it: keep them wide enough that this stays cheap. Unpacked small shapes split freely.
  // Decided on the whole product, not the block: narrow blocks of a big product would each skip
  // packing and read the shared operand in place, kc rows at its full stride (for 1024^3, B at a
  // 4 KiB stride: every row of a micro-panel in the same L1 set; 105 -> 133 GFLOP/s, 1 thread).
  // Except a B that fits in L2: narrow blocks read it in place well (288x1568x64 A^TB as 16
  // blocks of 18 rows, B in place: 143 -> 150 GFLOP/s, 1 thread, and finer shares for 2).
  const bool narrow_b_in_place = M / blocks <= kPackBMinRows && K * N <= ker.kc * ker.nc;
  const bool repacks = split_n ? packs_a(ker, trans_a, N)
                               : trans_b || (M > kPackBMinRows && !narrow_b_in_place);
  // Two blocks at least: products of 256 to 511 rows (288x1568x64 A^TB) would otherwise leave the
  // second thread idle. And an even count, so that two threads finish together (784x64x128 A^TB
  // as 3 blocks kept one thread busy for two of them: 2 threads 163 -> 180 GFLOP/s).
  if (repacks) blocks = std::min(blocks, std::max<int64_t>(2, (split_n ? N : M) / kMinBlockExtent));
  if (blocks % 2 == 1 && blocks > 1 && blocks < units) ++blocks;
  parallel_for(blocks, flops / blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = std::min(units * b / blocks * unit, split_n ? N : M);
      const int64_t hi = std::min(units * (b + 1) / blocks * unit, split_n ? N : M);
      if (split_n)
        sgemm_block(trans_a, trans_b, M, hi - lo, K, alpha, A, lda,
                    trans_b ? B + lo * ldb : B + lo, ldb, beta, C + lo, ldc);
      else
        sgemm_block(trans_a, trans_b, hi - lo, N, K, alpha, trans_a ? A + lo : A + lo * lda, lda,
                    B, ldb, beta, C + lo * ldc, ldc);
    }
  });
}

}  // namespace shendu
