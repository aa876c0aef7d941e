// 8 x 8 in-register transpose on 256-bit vectors, the register block of the transposing packs
// (gemm_microkernel.h: MicroKernel::pack_t) for the AVX2 and AVX-512 kernels. Include it only from
// one ISA's translation unit: the anonymous namespace keeps each ISA's copy under its own flags.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace shendu::gemm {
namespace {

// d[c * ldd + r] = s[r * lds + c] for r, c < 8. Rows r and r + 4 are loaded as the two 128-bit
// lanes of one register, so the lane-crossing step costs loads rather than shuffles (which share
// one port): 8 unpacks and 8 shuffles.
inline void transpose8x8(const float* s, int64_t lds, float* d, int64_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 4; ++i)
    for (int h = 0; h < 2; ++h)  // h: columns 0-3 or 4-7
      r[i + 4 * h] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(s + i * lds + 4 * h)),
                                          _mm_loadu_ps(s + (i + 4) * lds + 4 * h), 1);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    _mm256_storeu_ps(d + i * ldd, _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0)));
    _mm256_storeu_ps(d + (i + 1) * ldd, _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2)));
    _mm256_storeu_ps(d + (i + 2) * ldd,
                     _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0)));
    _mm256_storeu_ps(d + (i + 3) * ldd,
                     _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2)));
  }
}

}  // namespace
}  // namespace shendu::gemm
