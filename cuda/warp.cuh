// Warp-level reductions (all 32 lanes get the result), for the one-warp-per-row kernels.
#pragma once

namespace shendu::cuda {

__device__ __forceinline__ float warp_max(float v) {
  // fmaxf would drop a NaN; the row's result must stay NaN, as in NumPy.
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = (w > v || w != w) ? w : v;
  }
  return v;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Rows are handed out one per warp: ROWS_PER_BLOCK warps of 32 lanes per block.
constexpr int ROWS_PER_BLOCK = 8;

}  // namespace shendu::cuda
