// The max-pooling line kernels built with avx512 code generation (see pool2d_kernels.h), with the
// channel loops in intrinsics: 16 channels per step and masked tails, the running maximum and
// its tap in registers across the whole window, and the byte (or uint16) argmax compared and
// stored directly (the vectorizer widened it to int32 in a stack buffer and back).
#include <immintrin.h>

#include "pool/pool2d_kernels.h"

namespace shendu::pool2d {

namespace {

__mmask16 live_lanes(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
}

// Stores the 16 int32 taps narrowed to Index; compares 16 Index values with one tap.
void store_taps(uint8_t* at, __mmask16 live, __m512i tap) {
  _mm512_mask_cvtepi32_storeu_epi8(at, live, tap);
}
void store_taps(uint16_t* at, __mmask16 live, __m512i tap) {
  _mm512_mask_cvtepi32_storeu_epi16(at, live, tap);
}
// 16 Index values widened to int32 (zeros in the dead lanes).
__m512i load_taps(const uint8_t* am, __mmask16 live) {
  return _mm512_maskz_cvtepu8_epi32(live, _mm_maskz_loadu_epi8(live, am));
}
__m512i load_taps(const uint16_t* am, __mmask16 live) {
  return _mm512_maskz_cvtepu16_epi32(live, _mm256_maskz_loadu_epi16(live, am));
}
__mmask16 taps_equal(const uint8_t* am, __mmask16 live, uint8_t tap) {
  return _mm_mask_cmpeq_epi8_mask(live, _mm_maskz_loadu_epi8(live, am),
                                  _mm_set1_epi8(static_cast<char>(tap)));
}
__mmask16 taps_equal(const uint16_t* am, __mmask16 live, uint16_t tap) {
  return _mm256_mask_cmpeq_epi16_mask(live, _mm256_maskz_loadu_epi16(live, am),
                                      _mm256_set1_epi16(static_cast<short>(tap)));
}

struct Avx512Channels {
  template <int64_t Fixed, class Index>
  static void window_max(const float* first, int64_t row_step, int64_t rows, int64_t cols,
                         int64_t tap0, int64_t KW, int64_t C, float* y, Index* at) {
    if (Fixed) rows = cols = KW = Fixed, tap0 = 0;
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
      const __mmask16 live = live_lanes(C - c0);
      __m512 best = _mm512_maskz_loadu_ps(live, first + c0);
      __m512i tap = _mm512_set1_epi32(static_cast<int>(tap0));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t q = r == 0 ? 1 : 0; q < cols; ++q) {
          const __m512 u = _mm512_maskz_loadu_ps(live, first + r * row_step + q * C + c0);
          // As PortableChannels::max_step: take u where best is a number and !(u <= best).
          const __mmask16 take = _mm512_mask_cmp_ps_mask(
              _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q), u, best, _CMP_NLE_UQ);
          best = _mm512_mask_mov_ps(best, take, u);
          tap = _mm512_mask_mov_epi32(tap, take,
                                      _mm512_set1_epi32(static_cast<int>(tap0 + r * KW + q)));
        }
      _mm512_mask_storeu_ps(y + c0, live, best);
      store_taps(at + c0, live, tap);
    }
  }

  template <bool Accumulate, class Index>
  static void route(const float* g, const Index* am, Index tap, float* out, int64_t C) {
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
      const __mmask16 live = live_lanes(C - c0);
      // Only the lanes whose argmax names this tap load dy; the others are zero.
      __m512 v = _mm512_maskz_loadu_ps(taps_equal(am + c0, live, tap), g + c0);
      if (Accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(live, out + c0), v);
      _mm512_mask_storeu_ps(out + c0, live, v);
    }
  }

  // As PortableChannels::route_window, loading each 16 channels of g and am once for all cells.
  template <int64_t Fixed, class Index>
  static void route_window(const float* g, const Index* am, int64_t KH, int64_t KW,
                           int64_t row_step, float* out, int64_t C) {
    if (Fixed) KH = KW = Fixed;
    for (int64_t c0 = 0; c0 < C; c0 += 16) {
      const __mmask16 live = live_lanes(C - c0);
      const __m512 v = _mm512_maskz_loadu_ps(live, g + c0);
      const __m512i a = load_taps(am + c0, live);
      for (int64_t i = 0; i < KH; ++i)
        for (int64_t j = 0; j < KW; ++j) {
          const __mmask16 hit = _mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(int(i * KW + j)));
          _mm512_mask_storeu_ps(out + i * row_step + j * C + c0, live,
                                _mm512_maskz_mov_ps(hit, v));
        }
    }
  }
};

}  // namespace

template <class Index>
const Kernels<Index>& kernels_avx512() {
  return kKernels<Index, Avx512Channels>;
}
template const Kernels<uint8_t>& kernels_avx512();
template const Kernels<uint16_t>& kernels_avx512();

}  // namespace shendu::pool2d
