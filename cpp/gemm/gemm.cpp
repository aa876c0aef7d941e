// SGEMM framework (GotoBLAS/BLIS structure), written once for every ISA:
//
//   for jc in N by nc:            B panel kc x nc (L2), packed in nr-wide micro-panels
//     for pc in K by kc:
//       for ic in M by mc:        A block mc x kc, packed in mr-tall micro-panels (see below)
//         for ir, for jr:         micro-kernel on one A micro-panel (L1) and one B micro-panel
//
// A (not transposed) is read in place: the ir-major tile order keeps its mr x kc micro-panel in
// L1 across the B micro-panels, so a transposing pack would be pure cost; except in the products
// that share B panels among threads (big ones, see multiply_shared_b): there a row stride of 4 or
// 8 KiB (1024 or 2048 columns) puts all mr rows of the micro-panel in one L1 set, more than its
// ways, and a packed copy avoids that. B (not transposed) is read in place when C has few rows,
// A^T when C has few columns: packing them cannot pay there.
//
// Transposes are absorbed by the packing, edges by smaller micro-kernel instantiations (no
// padded work, no scalar path). Threads take whole blocks of C or micro-panel rows of it (see
// sgemm), split by the shape alone, so every element of C is computed in the same order whatever
// the thread count.
#include "gemm/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "common/scratch.h"
#include "gemm/gemm_kernels.h"
#include "gemm/gemm_microkernel.h"

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

constexpr Kernels kGeneric = MicroKernel<Portable, 6, 2>::make(120, 256, 512);

}  // namespace

const Kernels& kernels_generic() { return kGeneric; }

namespace {

const Kernels& active_kernels() { return for_isa(kernels_generic, kernels_avx2, kernels_avx512); }

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
// (A^T in place is kc rows at A's stride, which alias in L1 for power-of-two strides; its pack is
// a plain copy.)
constexpr int64_t kPackAMinPanels = 5;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Equal k blocks of at most ker.kc: a short last block would reload C for little work.
int64_t k_block(const Kernels& ker, int64_t K) { return ceil_div(K, ceil_div(K, ker.kc)); }

// Whether row blocks pack A: only A^T (see the top of the file), when enough B panels share it.
bool packs_a(const Kernels& ker, bool trans_a, int64_t N) {
  return trans_a && ceil_div(N, ker.nr) >= kPackAMinPanels;
}

// How many rows of A^T the packing of an A^T block copies into all its micro-panels before the next
// rows: its rows are then read in order. (Micro-panel by micro-panel, kc rows of mr floats at
// A's stride defeated the prefetchers.)
constexpr int64_t kPackATRows = 16;

// Rows [i0, i0 + mc) x columns [k0, k0 + kc) of op(A), in micro-panels of mr rows: micro-panel ir
// at dst + ir * mr * kc as [k * mr + i]. For A^T, op(A)(i, k) = A[k * lda + i], each k a run of
// contiguous floats to copy; A (not transposed) is transposed.
void pack_a(const Kernels& ker, bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc,
            int64_t k0, int64_t kc, float* dst) {
  const int mr = ker.mr;
  const int64_t step = trans ? kPackATRows : kc;
  for (int64_t k = 0; k < kc; k += step)
    for (int64_t i = 0; i < mc; i += mr) {
      const int m = static_cast<int>(std::min<int64_t>(mr, mc - i));
      if (trans)
        ker.pack_n(A + (k0 + k) * lda + i0 + i, lda, m, std::min(step, kc - k),
                   dst + i * kc + k * mr, mr);
      else
        ker.pack_t(A + (i0 + i) * lda + k0, lda, m, kc, dst + i * kc, mr);
    }
}

// B micro-panel: rows [k0, k0 + kc) x columns [j0, j0 + n) of op(B) as dst[k * nr + j], zero-padded
// to whole vectors (the micro-kernel loads whole vectors; pack_n pads only the last one it fills).
void pack_b(const Kernels& ker, bool trans, const float* B, int64_t ldb, int64_t k0, int64_t kc,
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

// One product, or the block of one that a thread computes: C[M,N] = alpha * op(A) op(B) + beta * C.
struct Product {
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
};

// One k block of one B panel: columns [jc, jc + nc) x rows [pc, pc + kc) of op(B). Micro-panel jr
// is packed at buf + jr * nr * kc, or (pack_all false, full-width) read from B in place.
struct Panel {
  int64_t jc, nc, pc, kc;
  bool pack_all;
  float* buf;
  bool packed(int64_t jr, int nr) const { return pack_all || (jr + 1) * nr > nc; }
};

// How many rows of B the packing of a panel copies into all its micro-panels before the next rows
// (B not transposed): its rows, 4-8 KiB apart in a big product, are then read in order.
constexpr int64_t kPackBRows = 16;

// Packs the micro-panels of q. B^T is packed micro-panel by micro-panel: its rows are already
// runs of k.
void pack_panel(const Kernels& ker, const Product& p, const Panel& q) {
  const int nr = ker.nr;
  const int64_t step = p.trans_b ? q.kc : kPackBRows;
  for (int64_t r = 0; r < q.kc; r += step)
    for (int64_t jr = 0; jr * nr < q.nc; ++jr)
      if (q.packed(jr, nr))
        pack_b(ker, p.trans_b, p.B, p.ldb, q.pc + r, std::min(step, q.kc - r), q.jc + jr * nr,
               static_cast<int>(std::min<int64_t>(nr, q.nc - jr * nr)),
               q.buf + jr * nr * q.kc + r * nr);
}

// Packed op(A) of all M rows for one k block, shared by the column panels of a product: micro-panel
// of row i (a multiple of mr) at rows + i * kc. The first column panel packs it (fill), the others
// read it.
struct SharedA {
  float* rows;
  bool fill;
};

// Rows [i0, i1) of C times panel q: A packed in blocks of mc rows (on this thread's scratch, or in
// shared when given), or A or A^T in place.
void multiply_panel(const Kernels& ker, const Product& p, const Panel& q, bool a_packed, int64_t i0,
                    int64_t i1, const SharedA* shared = nullptr) {
  const int mr = ker.mr, nr = ker.nr;
  const int64_t kc = q.kc, pc = q.pc, n_panels = ceil_div(q.nc, nr);
  thread_local std::vector<float> a_store;
  float* abuf = a_packed && !shared
                    ? line_aligned(a_store, std::min(ker.mc, ceil_div(i1 - i0, mr) * mr) * kc)
                    : nullptr;
  for (int64_t ic = i0; ic < i1; ic += ker.mc) {
    const int64_t mc = std::min(ker.mc, i1 - ic);
    const int64_t m_panels = ceil_div(mc, mr);
    if (shared) abuf = shared->rows + ic * kc;
    if (a_packed && (!shared || shared->fill))
      pack_a(ker, p.trans_a, p.A, p.lda, ic, mc, pc, kc, abuf);
    for (int64_t idx = 0; idx < n_panels * m_panels; ++idx) {
      // ir-major: the A micro-panel stays in L1 while the B micro-panels stream from L2.
      const int64_t ir = idx / n_panels, jr = idx % n_panels;
      const int64_t i = ic + ir * mr, j = q.jc + jr * nr;
      const bool pb = q.packed(jr, nr);
      const float* a = a_packed    ? abuf + ir * mr * kc
                       : p.trans_a ? p.A + pc * p.lda + i
                                   : p.A + i * p.lda + pc;
      ker.tile(TileArgs{kc, a, a_packed ? mr : p.lda, !a_packed && !p.trans_a,
                        pb ? q.buf + jr * nr * kc : p.B + pc * p.ldb + j, pb ? nr : p.ldb,
                        p.C + i * p.ldc + j, p.ldc, static_cast<int>(std::min<int64_t>(mr, i1 - i)),
                        static_cast<int>(std::min<int64_t>(nr, p.N - j)), p.alpha,
                        pc == 0 ? p.beta : 1.0f});  // later k blocks accumulate
    }
  }
}

// Where panel (jc, pc) of op(B) lies in a copy of all of it packed at once (packed_b): column
// panels of NC columns one after another, each its k blocks one after another (every panel but
// the last is NC wide, a multiple of nr).
int64_t packed_b_offset(const Kernels& ker, const Product& p, int64_t jc, int64_t nc, int64_t pc) {
  return jc * p.K + pc * ceil_div(nc, ker.nr) * ker.nr;
}

// The serial BLIS loop nest over a product or a block of one. It packs its own B panels, so
// blocks running on different threads never wait for each other; or, given all_b (all of op(B)
// packed by packed_b), reads them from there.
void multiply_block(const Product& p, float* all_b) {
  const Kernels& ker = active_kernels();
  const int nr = ker.nr;
  const int64_t KC = k_block(ker, p.K), NC = std::min(ker.nc, p.N);
  const bool pack_all_b = p.trans_b || p.M > kPackBMinRows;
  const bool a_packed = packs_a(ker, p.trans_a, p.N);
  thread_local std::vector<float> b_store;
  float* bbuf = all_b ? nullptr : line_aligned(b_store, ceil_div(NC, nr) * nr * KC);
  for (int64_t jc = 0; jc < p.N; jc += NC) {
    const int64_t nc = std::min(NC, p.N - jc);
    for (int64_t pc = 0; pc < p.K; pc += KC) {
      const int64_t kc = std::min(KC, p.K - pc);
      const Panel q = all_b ? Panel{jc, nc, pc, kc, true,
                                    all_b + packed_b_offset(ker, p, jc, nc, pc)}
                            : Panel{jc, nc, pc, kc, pack_all_b, bbuf};
      if (!all_b) pack_panel(ker, p, q);
      multiply_panel(ker, p, q, a_packed, 0, p.M);
    }
  }
}

// All of op(B) (every micro-panel, whole k range), packed as multiply_block would pack it panel by
// panel, in this thread's scratch: by the first block of sgemm call `call` that runs on this
// thread, for all its blocks of that call. (One copy packed by the calling thread and read by all
// would move it between the cores every call.)
float* packed_b(const Product& p, uint64_t call) {
  const Kernels& ker = active_kernels();
  const int nr = ker.nr;
  const int64_t KC = k_block(ker, p.K), NC = std::min(ker.nc, p.N);
  thread_local std::vector<float> store;
  thread_local uint64_t packed_call = 0;
  float* buf = line_aligned(store, ceil_div(p.N, nr) * nr * p.K);
  if (packed_call == call) return buf;
  packed_call = call;
  for (int64_t jc = 0; jc < p.N; jc += NC) {
    const int64_t nc = std::min(NC, p.N - jc);
    for (int64_t pc = 0; pc < p.K; pc += KC)
      pack_panel(ker, p,
                 Panel{jc, nc, pc, std::min(KC, p.K - pc), true,
                       buf + packed_b_offset(ker, p, jc, nc, pc)});
  }
  return buf;
}

// A product whose B every row block would repack (GotoBLAS/BLIS): per column panel (see below), the
// threads pack all its k blocks once, sharing the micro-panels out, then take micro-panel rows of
// C, each packing its own A blocks and reading the shared B. So two parallel_for calls per column
// panel, not per k block: each is a point where the caller may wait for a descheduled worker.
// Each thread's k blocks read their B panel from L3 once, then from L2 (slightly slower on one
// thread than packing each just before use). Each element of C still accumulates its k blocks in
// order, and no tile depends on how the rows are shared out.
//
// Its column panels are kSharedPanelNc nc wide: fewer, wider panels mean fewer passes over A per
// product. A k block of B is then 1 MiB (AVX-512), which with the packed A block still fits a
// 2 MiB L2.
constexpr int64_t kSharedPanelNc = 2;

// With more than one column panel, A is packed once for all of them, in a buffer of all of op(A)
// when it holds at most kMaxSharedAFloats
// (2048^2: 16 MiB; the cap is 32 MiB).
constexpr int64_t kMaxSharedAFloats = int64_t{1} << 23;

void multiply_shared_b(const Product& p) {
  const Kernels& ker = active_kernels();
  const int mr = ker.mr, nr = ker.nr;
  const int64_t KC = k_block(ker, p.K), NC = std::min(kSharedPanelNc * ker.nc, p.N);
  const int64_t k_blocks = ceil_div(p.K, KC), m_rows = ceil_div(p.M, mr) * mr;
  thread_local std::vector<float> b_store;  // K x 2 nc: 8 MiB for K = 2048
  float* bbuf = line_aligned(b_store, ceil_div(NC, nr) * nr * p.K);
  const bool share_a = NC < p.N && m_rows * p.K <= kMaxSharedAFloats;
  thread_local std::vector<float> a_store;
  float* abuf = share_a ? line_aligned(a_store, m_rows * p.K) : nullptr;
  for (int64_t jc = 0; jc < p.N; jc += NC) {
    const int64_t nc = std::min(NC, p.N - jc), n_panels = ceil_div(nc, nr);
    auto panel = [&](int64_t kb) {
      const int64_t pc = kb * KC;
      return Panel{jc, nc, pc, std::min(KC, p.K - pc), true, bbuf + pc * n_panels * nr};
    };
    parallel_for_each_item(k_blocks, KC * nc, [&](int64_t kb0, int64_t kb1) {
      for (int64_t kb = kb0; kb < kb1; ++kb) pack_panel(ker, p, panel(kb));
    });
    parallel_for(ceil_div(p.M, mr), 2 * mr * nc * p.K, [&](int64_t ir0, int64_t ir1) {
      for (int64_t kb = 0; kb < k_blocks; ++kb) {
        const SharedA a{abuf + kb * KC * m_rows, jc == 0};
        multiply_panel(ker, p, panel(kb), true, ir0 * mr, std::min(ir1 * mr, p.M),
                       share_a ? &a : nullptr);
      }
    });
  }
}

}  // namespace
}  // namespace gemm

int64_t sgemm_k_block(int64_t K) { return K > 0 ? gemm::k_block(gemm::active_kernels(), K) : 0; }

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
  // flops; a small B is packed once per thread, see share_b). The split depends on the shape only,
  // so every element is computed the same way whatever the thread count.
  const Kernels& ker = active_kernels();
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
  // 4 KiB stride: every row of a micro-panel in the same L1 set). Except a B that fits in L2:
  // narrow blocks read it in place well, and the shares for 2 threads are finer.
  const bool b_fits_panel = K * N <= ker.kc * ker.nc;
  const bool narrow_b_in_place = M / blocks <= kPackBMinRows && b_fits_panel;
  const bool repacks = split_n ? packs_a(ker, trans_a, N)
                               : trans_b || (M > kPackBMinRows && !narrow_b_in_place);
  // Row blocks that would each pack all of B share it instead: one copy per thread when it is at
  // most a panel's size (see packed_b), so the blocks need not be wide (1568x64x288 AB^T: six
  // blocks each transposed all of B^T); else multiply_shared_b, below.
  const bool rows_repack_b = !split_n && repacks && blocks > 1;
  const bool share_b = rows_repack_b && b_fits_panel;
  // Two blocks at least: products of 256 to 511 rows (288x1568x64 A^TB) would otherwise leave the
  // second thread idle. And an even count, so that two threads finish together (3 blocks keep one
  // thread busy for two of them).
  // (It keeps two blocks or more where there were: rows_repack_b still holds after it.)
  if (repacks && !share_b)
    blocks = std::min(blocks, std::max<int64_t>(2, (split_n ? N : M) / kMinBlockExtent));
  const Product p{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  // A B larger than one panel, which every row block would repack from memory: pack each panel
  // once and share it (2048^3 was eight row blocks, each packing all of B).
  if (rows_repack_b && !b_fits_panel) {
    multiply_shared_b(p);
    return;
  }
  if (blocks % 2 == 1 && blocks > 1 && blocks < units) ++blocks;
  // Numbers the calls that share B copies (per thread, see packed_b), so a copy is never taken
  // for another call's.
  static std::atomic<uint64_t> calls{0};
  const uint64_t call = share_b ? calls.fetch_add(1, std::memory_order_relaxed) + 1 : 0;
  parallel_for(blocks, flops / blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = std::min(units * b / blocks * unit, split_n ? N : M);
      const int64_t hi = std::min(units * (b + 1) / blocks * unit, split_n ? N : M);
      Product block = p;
      if (split_n) {
        block.N = hi - lo;
        block.B = trans_b ? B + lo * ldb : B + lo;
        block.C = C + lo;
      } else {
        block.M = hi - lo;
        block.A = trans_a ? A + lo : A + lo * lda;
        block.C = C + lo * ldc;
      }
      multiply_block(block, share_b ? packed_b(p, call) : nullptr);
    }
  });
}

}  // namespace shendu
