// Embedding: rows of a (V, D) table gathered by integer id, and the backward scatter-add.
#pragma once
#include <cstdint>

namespace shendu {

// out[i, :] = table[ids[i], :] for i in [0, n). Every id must lie in [0, V) (the caller checks).
void embedding_forward(const int64_t* ids, int64_t n, const float* table, int64_t D, float* out);

// dtable (V, D): row v = sum of dy[i, :] over the i with ids[i] == v, added in increasing i.
// Each row is owned by one thread, so no atomics are needed and the result does not depend on
// the thread count.
void embedding_backward(const float* dy, const int64_t* ids, int64_t n, int64_t V, int64_t D,
                        float* dtable);

}  // namespace shendu
