// Reductions on device arrays, deterministic: the summation order depends on the shape alone (a
// first pass over the whole grid, then a fixed-order pass over its partial sums; no atomics).
// The caller provides the partial sums' scratch, of the size *_scratch returns (0: none needed,
// scratch may be null).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// out[c] = sum over r of x[r * cols + c] (bias gradients). rows may be 0. scratch: floats.
int64_t column_sum_scratch(int64_t rows, int64_t cols);
void column_sum(const float* x, int64_t rows, int64_t cols, float* out, float* scratch,
                cudaStream_t stream);
// *out = sum of x[0..n) accumulated in double (loss totals: one scalar). scratch: doubles.
int64_t sum_to_double_scratch(int64_t n);
void sum_to_double(const float* x, int64_t n, double* out, double* scratch, cudaStream_t stream);

}  // namespace shendu::cuda
