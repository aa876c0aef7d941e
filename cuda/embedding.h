// Embedding lookup and its backward on device arrays; ids are int64 already checked to lie in
// [0, vocab).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// out (n, dim) = table[ids]
void embedding_gather(const int64_t* ids, int64_t n, const float* table, int64_t dim, float* out,
                      cudaStream_t stream);
// The backward, dtable[ids[i]] += dy[i] for every i, given the positions sorted by id: order (n,)
// a permutation of [0, n) and sorted_ids[j] = ids[order[j]], non-decreasing. Each id present gets
// the sum of its dy rows, added in the order `order` lists them (deterministic: no atomics); the
// rows of absent ids are left as they are (zeroed by the caller).
void embedding_segment_sum(const float* dy, const int64_t* order, const int64_t* sorted_ids,
                           int64_t n, int64_t dim, float* dtable, cudaStream_t stream);

}  // namespace shendu::cuda
