// Inverted dropout with a counter-based mask: element i's fate depends only on (seed, i), so the
// mask is reproducible, thread-count independent, and identical to reference.dropout.
#pragma once
#include <cstdint>

namespace shendu {

// The splitmix64 finalizer (Steele, Lea, Flood 2014): a bijection on 64-bit words whose output
// bits pass BigCrush even for consecutive inputs, which is what a counter-based RNG needs.
inline uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Element i (flat, C order) is dropped when u = (splitmix64(seed * 2^32 + i) >> 40) / 2^24 < rate.
// mask[i] = dropped ? 0 : 1 / (1 - rate) (rounded to float once); y = x * mask. rate in [0, 1).
void dropout_forward(const float* x, int64_t n, double rate, uint64_t seed, float* y, float* mask);

}  // namespace shendu
