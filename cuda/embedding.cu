#include "embedding.h"
#include "launch.h"

namespace shendu::cuda {

namespace {

// One thread per output element; consecutive threads copy consecutive columns of a row.
__global__ void gather_kernel(const int64_t* ids, int64_t total, const float* table, int64_t dim,
                              float* out) {
  SHENDU_GRID_STRIDE(i, total)
    out[i] = table[ids[i / dim] * dim + i % dim];
}

// One thread per (sorted position j, column c). The thread at the start of an id's run sums that
// id's rows in sorted order and writes the total; the others have nothing to do. No atomics: the
// order of the additions is the sort's, the same on every run.
__global__ void segment_sum_kernel(const float* dy, const int64_t* order,
                                   const int64_t* sorted_ids, int64_t total, int64_t n,
                                   int64_t dim, float* dtable) {
  SHENDU_GRID_STRIDE(i, total) {
    const int64_t j = i / dim, c = i % dim;
    const int64_t id = sorted_ids[j];
    if (j > 0 && sorted_ids[j - 1] == id) continue;
    float s = 0.0f;
    for (int64_t k = j; k < n && sorted_ids[k] == id; ++k) s += dy[order[k] * dim + c];
    dtable[id * dim + c] = s;
  }
}

}  // namespace

void embedding_gather(const int64_t* ids, int64_t n, const float* table, int64_t dim, float* out,
                      cudaStream_t stream) {
  const int64_t total = n * dim;
  if (total == 0) return;
  gather_kernel<<<grid_for(total, 256), 256, 0, stream>>>(ids, total, table, dim, out);
  check_launch("embedding_gather");
}

void embedding_segment_sum(const float* dy, const int64_t* order, const int64_t* sorted_ids,
                           int64_t n, int64_t dim, float* dtable, cudaStream_t stream) {
  const int64_t total = n * dim;
  if (total == 0) return;
  segment_sum_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dy, order, sorted_ids, total, n,
                                                               dim, dtable);
  check_launch("embedding_segment_sum");
}

}  // namespace shendu::cuda
