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

__global__ void scatter_add_kernel(const float* dy, const int64_t* ids, int64_t total, int64_t dim,
                                   float* dtable) {
  SHENDU_GRID_STRIDE(i, total)
    atomicAdd(dtable + ids[i / dim] * dim + i % dim, dy[i]);
}

}  // namespace

void embedding_gather(const int64_t* ids, int64_t n, const float* table, int64_t dim, float* out,
                      cudaStream_t stream) {
  const int64_t total = n * dim;
  if (total == 0) return;
  gather_kernel<<<grid_for(total, 256), 256, 0, stream>>>(ids, total, table, dim, out);
  check_launch("embedding_gather");
}

void embedding_scatter_add(const float* dy, const int64_t* ids, int64_t n, int64_t dim,
                           float* dtable, cudaStream_t stream) {
  const int64_t total = n * dim;
  if (total == 0) return;
  scatter_add_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dy, ids, total, dim, dtable);
  check_launch("embedding_scatter_add");
}

}  // namespace shendu::cuda
