// Row statistics for softmax-based kernels: one warp per row, lanes striding over the columns.
#pragma once
#include <cmath>
#include <cstdint>

#include "warp.cuh"

namespace shendu::cuda {

struct RowSoftmax {
  float max;  // subtracted before exp so large logits cannot overflow
  float sum;  // sum of exp(x - max)
};

__device__ __forceinline__ RowSoftmax row_softmax(const float* x, int64_t cols, int lane) {
  float m = -INFINITY;
  for (int64_t j = lane; j < cols; j += 32) m = (x[j] > m || x[j] != x[j]) ? x[j] : m;
  m = warp_max(m);
  float s = 0.0f;
  for (int64_t j = lane; j < cols; j += 32) s += expf(x[j] - m);
  return {m, warp_sum(s)};
}

}  // namespace shendu::cuda
