#include "dropout/dropout.h"

#include <cmath>

#include "common/parallel.h"

namespace shendu {

void dropout_forward(const float* x, int64_t n, double rate, uint64_t seed, float* y, float* mask) {
  // u < rate  <=>  k < rate * 2^24 (exact in double)  <=>  k < ceil(rate * 2^24) for integer k,
  // so the comparison is an exact integer one, the same as the reference's float64 test.
  const uint64_t cut = static_cast<uint64_t>(std::ceil(rate * 16777216.0));
  const float scale = static_cast<float>(1.0 / (1.0 - rate));
  const uint64_t base = seed << 32;  // seed * 2^32 mod 2^64
  parallel_for(n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float m = (splitmix64(base + static_cast<uint64_t>(i)) >> 40) < cut ? 0.0f : scale;
      mask[i] = m;
      y[i] = x[i] * m;
    }
  });
}

}  // namespace shendu
