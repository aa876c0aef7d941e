// fma_peak.h's chains in 16-lane zmm registers.
#include <immintrin.h>

#include "fma_peak_chains.h"

namespace shendu::fma_peak {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int W = 16;
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float first(V v) { return _mm512_cvtss_f32(v); }
};

constexpr Chains kAvx512 = make_chains<Avx512>();

}  // namespace

const Chains& chains_avx512() { return kAvx512; }

}  // namespace shendu::fma_peak
