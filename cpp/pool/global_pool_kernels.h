// The single-thread loops behind global_pool.h, over one sample and one block of channels,
// compiled per ISA (global_pool.cpp, global_pool_avx2.cpp, global_pool_avx512.cpp): the channel
// loops widen to the lanes of the including file. Instantiate only with the ISA of the including
// file; the template argument keeps each ISA's code under its own symbols.
#pragma once
#include <cstdint>

#include "common/vec_math.h"

namespace shendu::global_pool {

// x points at the block's first channel of step 0; consecutive steps are ld floats apart.
struct Kernels {
  void (*sum)(const float* x, int64_t steps, int64_t ld, int64_t c, float* acc);
  void (*max)(const float* x, int64_t steps, int64_t ld, int64_t c, float* acc);
  // dx = dy[c] / count[c] where x == y, else 0; count (c,) is scratch.
  void (*max_backward)(const float* dy, const float* x, const float* y, int64_t steps, int64_t ld,
                       int64_t c, float* count, float* dx);
};

const Kernels& kernels_generic();
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();

template <int kIsa>
struct Loops {
  // Four steps per pass over the accumulators: a quarter of their loads and stores.
  static void sum(const float* x, int64_t steps, int64_t ld, int64_t c, float* acc) {
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) acc[j] = 0.0f;
    int64_t t = 0;
    for (; t + 4 <= steps; t += 4) {
      const float* r = x + t * ld;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j)
        acc[j] += (r[j] + r[ld + j]) + (r[2 * ld + j] + r[3 * ld + j]);
    }
    for (; t < steps; ++t) {
      const float* r = x + t * ld;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) acc[j] += r[j];
    }
  }

  // v wins when it is larger or NaN, so a NaN anywhere propagates.
  static float bigger(float m, float v) {
    return vec_math::select(vec_math::mask_if((v > m) | (v != v)), v, m);
  }

  static void max(const float* x, int64_t steps, int64_t ld, int64_t c, float* acc) {
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) acc[j] = -__builtin_inff();
    for (int64_t t = 0; t < steps; ++t) {
      const float* r = x + t * ld;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) acc[j] = bigger(acc[j], r[j]);
    }
  }

  static void max_backward(const float* dy, const float* x, const float* y, int64_t steps,
                           int64_t ld, int64_t c, float* count, float* dx) {
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) count[j] = 0.0f;
    for (int64_t t = 0; t < steps; ++t) {
      const float* r = x + t * ld;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) count[j] += r[j] == y[j] ? 1.0f : 0.0f;
    }
    // count[j] is 0 only when no step equals y (a NaN maximum): then no dx is written nonzero.
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) count[j] = dy[j] / (count[j] > 0.0f ? count[j] : 1.0f);
    for (int64_t t = 0; t < steps; ++t) {
      const float* r = x + t * ld;
      float* d = dx + t * ld;
#pragma omp simd
      for (int64_t j = 0; j < c; ++j)
        d[j] = vec_math::select(vec_math::mask_if(r[j] == y[j]), count[j], 0.0f);
    }
  }

  static constexpr Kernels kKernels{&sum, &max, &max_backward};
};

}  // namespace shendu::global_pool
