// AVX-512 micro-kernel: 14 x 32 (28 zmm accumulators, 2 for the B row, 1 for the broadcast).
#include <immintrin.h>

#include "gemm/gemm_microkernel.h"
#include "gemm/gemm_transpose_avx.h"

namespace shendu::gemm {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V bcast(float x) { return _mm512_set1_ps(x); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static V load_n(const float* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_n(float* p, V v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static constexpr int T = 8;
  static void transpose(const float* s, int64_t lds, float* d, int64_t ldd) {
    transpose8x8(s, lds, d, ldd);
  }
};

constexpr Kernels kAvx512 = MicroKernel<Avx512, 14, 2>::make(336, 256, 512);

}  // namespace

const Kernels& kernels_avx512() { return kAvx512; }

}  // namespace shendu::gemm
