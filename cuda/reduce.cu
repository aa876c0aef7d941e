#include "launch.h"
#include "reduce.h"

namespace shendu::cuda {

namespace {

constexpr int COLS = 32, ROW_LANES = 8;

// A block owns 32 columns; its 8 thread rows sum interleaved row ranges (coalesced along the
// columns), then combine in shared memory in a fixed order.
__global__ void column_sum_kernel(const float* x, int64_t rows, int64_t cols, float* out) {
  __shared__ float part[ROW_LANES][COLS];
  const int64_t c = blockIdx.x * int64_t(COLS) + threadIdx.x;
  float s = 0.0f;
  if (c < cols)
    for (int64_t r = threadIdx.y; r < rows; r += ROW_LANES) s += x[r * cols + c];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    for (int i = 1; i < ROW_LANES; ++i) s += part[i][threadIdx.x];
    out[c] = s;
  }
}

constexpr int SUM_THREADS = 1024;

// One block: the inputs are loss terms (batch x classes at most), far too small to be worth a
// second pass, and a single block keeps the order fixed.
__global__ void __launch_bounds__(SUM_THREADS) sum_to_double_kernel(const float* x, int64_t n,
                                                                     double* out) {
  __shared__ double part[SUM_THREADS];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += SUM_THREADS) s += x[i];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int half = SUM_THREADS / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = part[0];
}

}  // namespace

void column_sum(const float* x, int64_t rows, int64_t cols, float* out, cudaStream_t stream) {
  if (cols == 0) return;
  const int64_t blocks = (cols + COLS - 1) / COLS;
  if (blocks > 0x7fffffff) throw std::invalid_argument("column_sum: too many columns");
  column_sum_kernel<<<unsigned(blocks), dim3(COLS, ROW_LANES), 0, stream>>>(x, rows, cols, out);
  check_launch("column_sum");
}

void sum_to_double(const float* x, int64_t n, double* out, cudaStream_t stream) {
  sum_to_double_kernel<<<1, SUM_THREADS, 0, stream>>>(x, n, out);
  check_launch("sum_to_double");
}

}  // namespace shendu::cuda
