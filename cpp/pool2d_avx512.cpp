// The max-pooling kernels built with avx512 code generation (see pool2d_isa.h).
#include <immintrin.h>

#include "pool2d_isa.h"

namespace shendu {

MaxPoolLineFn max_pool_line_avx512() { return max_pool_line; }

namespace {

// max_pool_scatter, 8 channels per step: gather the 8 dx cells, add, scatter back. The 8
// addresses cell * c + ch are distinct (distinct ch, ch < c), and steps run in the scalar order,
// so every dx cell receives the same additions in the same order: results match the portable
// build bit for bit.
bool max_pool_scatter_vec(int64_t in_plane, int64_t out_plane, int64_t c, const float* dy,
                          const int64_t* argmax, float* dx) {
  const __m512i limit = _mm512_set1_epi64(in_plane), stride = _mm512_set1_epi64(c);
  const __m512i lanes = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
  __mmask8 bad = 0;
  for (int64_t o = 0; o < out_plane; ++o, dy += c, argmax += c)
    for (int64_t ch = 0; ch < c; ch += 8) {
      const __mmask8 live = c - ch >= 8 ? __mmask8{0xFF} : __mmask8((1u << (c - ch)) - 1);
      const __m512i cell = _mm512_maskz_loadu_epi64(live, argmax + ch);
      const __mmask8 valid = _mm512_mask_cmplt_epu64_mask(live, cell, limit);
      bad |= live & ~valid;
      const __m512i at = _mm512_add_epi64(_mm512_mullo_epi64(cell, stride),
                                          _mm512_add_epi64(_mm512_set1_epi64(ch), lanes));
      const __m256 old = _mm512_mask_i64gather_ps(_mm256_setzero_ps(), valid, at, dx, 4);
      const __m256 sum = _mm256_add_ps(old, _mm256_maskz_loadu_ps(live, dy + ch));
      _mm512_mask_i64scatter_ps(dx, valid, at, sum, 4);
    }
  return bad == 0;
}

}  // namespace

MaxPoolScatterFn max_pool_scatter_avx512() { return max_pool_scatter_vec; }

}  // namespace shendu
