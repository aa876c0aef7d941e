// fma_peak.h's chains in 8-lane ymm registers.
#include <immintrin.h>

#include "fma_peak_chains.h"

namespace shendu::fma_peak {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int W = 8;
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float first(V v) { return _mm256_cvtss_f32(v); }
};

constexpr Chains kAvx2 = make_chains<Avx2>();

}  // namespace

const Chains& chains_avx2() { return kAvx2; }

}  // namespace shendu::fma_peak
