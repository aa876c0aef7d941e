// Reductions on device arrays, deterministic (a fixed summation order, no atomics).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// out[c] = sum over r of x[r * cols + c] (the bias gradient of dense layers). rows may be 0.
void column_sum(const float* x, int64_t rows, int64_t cols, float* out, cudaStream_t stream);
// *out = sum of x[0..n) accumulated in double (loss totals: one scalar to read back).
void sum_to_double(const float* x, int64_t n, double* out, cudaStream_t stream);

}  // namespace shendu::cuda
