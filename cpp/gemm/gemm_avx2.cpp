// AVX2 + FMA micro-kernel: 6 x 16 (12 ymm accumulators, 2 for the B row, 1 for the broadcast).
#include <immintrin.h>

#include "gemm/gemm_microkernel.h"
#include "gemm/gemm_transpose_avx.h"

namespace shendu::gemm {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V bcast(float x) { return _mm256_set1_ps(x); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V load_n(const float* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_n(float* p, V v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static constexpr int T = 8;
  static void transpose(const float* s, int64_t lds, float* d, int64_t ldd) {
    transpose8x8(s, lds, d, ldd);
  }
};

constexpr Kernels kAvx2 = MicroKernel<Avx2, 6, 2>::make(144, 256, 512);

}  // namespace

const Kernels& kernels_avx2() { return kAvx2; }

}  // namespace shendu::gemm
