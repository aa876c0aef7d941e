// Embedding lookup and its backward on device arrays; ids are int64 already checked to lie in
// [0, vocab).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// out (n, dim) = table[ids]
void embedding_gather(const int64_t* ids, int64_t n, const float* table, int64_t dim, float* out,
                      cudaStream_t stream);
// dtable[ids[i]] += dy[i] for every i; dtable must start zeroed. Repeated ids accumulate with
// atomicAdd, so the summation order (last bits) may vary between runs.
void embedding_scatter_add(const float* dy, const int64_t* ids, int64_t n, int64_t dim,
                           float* dtable, cudaStream_t stream);

}  // namespace shendu::cuda
