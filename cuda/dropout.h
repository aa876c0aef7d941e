// Inverted dropout on a device array with the counter-based mask of shendu.ops.dropout: element i
// is dropped when (splitmix64(seed * 2**32 + i) >> 40) / 2**24 < rate, so every backend (and
// every launch configuration) draws the same mask.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// mask[i] = dropped ? 0 : scale; y[i] = x[i] * mask[i]. seed is taken modulo 2**64.
void dropout(const float* x, int64_t n, uint64_t seed, double rate, float scale, float* y,
             float* mask, cudaStream_t stream);

}  // namespace shendu::cuda
