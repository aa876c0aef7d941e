#include "pool/global_pool.h"

#include <algorithm>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "pool/global_pool_kernels.h"

namespace shendu {
namespace global_pool {

const Kernels& kernels_generic() { return Loops<0>::kKernels; }

namespace {

const Kernels& active() { return for_isa(kernels_generic, kernels_avx2, kernels_avx512); }

// Channels per work item: the accumulators of a block (2 KB) stay in L1 while its steps stream
// by, and a batch of one still splits across threads when it has many channels.
constexpr int64_t kBlock = 512;

// body(sample, first channel, channels) over every block of every sample, in parallel.
template <class Body>
void for_blocks(const GlobalPoolShape& s, int64_t work_per_cell, Body&& body) {
  const int64_t blocks = (s.c + kBlock - 1) / kBlock;
  parallel_for(s.n * blocks, std::max<int64_t>(1, s.steps * std::min(s.c, kBlock) * work_per_cell),
               [&](int64_t u0, int64_t u1) {
                 for (int64_t u = u0; u < u1; ++u) {
                   const int64_t c0 = u % blocks * kBlock;
                   body(u / blocks, c0, std::min(kBlock, s.c - c0));
                 }
               });
}

}  // namespace
}  // namespace global_pool

void global_avg_pool_forward(const GlobalPoolShape& s, const float* x, float* y) {
  const global_pool::Kernels& k = global_pool::active();
  const float steps = static_cast<float>(s.steps);
  global_pool::for_blocks(s, 1, [&](int64_t n, int64_t c0, int64_t c) {
    float* acc = y + n * s.c + c0;
    k.sum(x + n * s.steps * s.c + c0, s.steps, s.c, c, acc);
    for (int64_t j = 0; j < c; ++j) acc[j] /= steps;  // sum / L, as TF's reduce_mean
  });
}

void global_avg_pool_backward(const GlobalPoolShape& s, const float* dy, float* dx) {
  const float steps = static_cast<float>(s.steps);
  parallel_for(s.n * s.steps, s.c, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* g = dy + r / s.steps * s.c;  // no rows when steps == 0
      float* d = dx + r * s.c;
#pragma omp simd
      for (int64_t j = 0; j < s.c; ++j) d[j] = g[j] / steps;
    }
  });
}

void global_max_pool_forward(const GlobalPoolShape& s, const float* x, float* y) {
  const global_pool::Kernels& k = global_pool::active();
  global_pool::for_blocks(s, 1, [&](int64_t n, int64_t c0, int64_t c) {
    k.max(x + n * s.steps * s.c + c0, s.steps, s.c, c, y + n * s.c + c0);
  });
}

void global_max_pool_backward(const GlobalPoolShape& s, const float* dy, const float* x,
                              const float* y, float* dx) {
  const global_pool::Kernels& k = global_pool::active();
  global_pool::for_blocks(s, 3, [&](int64_t n, int64_t c0, int64_t c) {
    float count[global_pool::kBlock];
    const int64_t at = n * s.steps * s.c + c0;
    k.max_backward(dy + n * s.c + c0, x + at, y + n * s.c + c0, s.steps, s.c, c, count, dx + at);
  });
}

}  // namespace shendu
