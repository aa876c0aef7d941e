#include "launch.h"
#include "softmax.cuh"
#include "softmax.h"

namespace shendu::cuda {

namespace {

__global__ void softmax_forward_kernel(const float* x, float* y, int64_t rows, int64_t cols) {
  const int64_t row = blockIdx.x * int64_t(ROWS_PER_BLOCK) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;  // whole warps leave together, so the shuffles stay full
  x += row * cols;
  y += row * cols;
  const RowSoftmax s = row_softmax(x, cols, lane);
  const float inv = 1.0f / s.sum;
  for (int64_t j = lane; j < cols; j += 32) y[j] = expf(x[j] - s.max) * inv;
}

__global__ void softmax_backward_kernel(const float* dy, const float* y, float* dx, int64_t rows,
                                        int64_t cols) {
  const int64_t row = blockIdx.x * int64_t(ROWS_PER_BLOCK) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;
  dy += row * cols;
  y += row * cols;
  dx += row * cols;
  float dot = 0.0f;
  for (int64_t j = lane; j < cols; j += 32) dot += dy[j] * y[j];
  dot = warp_sum(dot);
  for (int64_t j = lane; j < cols; j += 32) dx[j] = y[j] * (dy[j] - dot);
}

unsigned row_blocks(int64_t rows) {
  const int64_t blocks = (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
  if (blocks > 0x7fffffff) throw std::invalid_argument("softmax: too many rows");
  return unsigned(blocks);
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  softmax_forward_kernel<<<row_blocks(rows), ROWS_PER_BLOCK * 32, 0, stream>>>(x, y, rows, cols);
  check_launch("softmax_forward");
}

void softmax_backward(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols,
                      cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  softmax_backward_kernel<<<row_blocks(rows), ROWS_PER_BLOCK * 32, 0, stream>>>(dy, y, dx, rows,
                                                                                cols);
  check_launch("softmax_backward");
}

}  // namespace shendu::cuda
