// What every CUDA family shares: the error check after a launch and grid sizing. Kernels take
// device pointers and shapes and launch on the caller's stream; they never allocate or sync.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace shendu::cuda {

// Configuration errors (no device, too many threads, bad stream) surface here, named; faults
// inside a kernel surface at the caller's next synchronizing call (CuPy raises them).
inline void check_launch(const char* kernel) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("CUDA kernel ") + kernel + ": " + cudaGetErrorString(err));
}

// Blocks for a grid-stride loop over n items: enough to fill any current GPU, capped so the
// count fits gridDim.x; the loop covers the rest.
inline unsigned grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65536));
}

}  // namespace shendu::cuda

// Grid-stride loop over [0, n): correct for any grid size, so launchers can cap the grid
// (launch.h's grid_for) and still cover any n.
#define SHENDU_GRID_STRIDE(i, n)                                            \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)
