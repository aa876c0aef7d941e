#include <algorithm>

#include "launch.h"
#include "reduce.h"

namespace shendu::cuda {

namespace {

// column_sum: blocks of 32 columns x 8 thread rows; each block sums one chunk of CHUNK_ROWS rows
// (blockIdx.y), so a tall matrix spreads over the whole GPU instead of one block per 32 columns.
// A chunk's 8 thread rows sum interleaved rows (coalesced along the columns) and combine in shared
// memory in a fixed order; the chunks' partial sums are then added by the same kernel, one chunk
// over them all. The chunking depends on the shape alone: the same input gives the same bits.
constexpr int COLS = 32, ROW_LANES = 8;
constexpr int64_t CHUNK_ROWS = 512, MAX_CHUNKS = 65535;  // gridDim.y's limit

int64_t chunk_rows(int64_t rows) {
  const int64_t by_limit = (rows + MAX_CHUNKS - 1) / MAX_CHUNKS;
  return std::max(CHUNK_ROWS, by_limit);
}

int64_t chunks(int64_t rows) {
  const int64_t chunk = chunk_rows(rows);
  return rows == 0 ? 1 : (rows + chunk - 1) / chunk;
}

// out[chunk * cols + c] = sum of x[r * cols + c] over the chunk's rows.
__global__ void column_sum_kernel(const float* x, int64_t rows, int64_t cols, int64_t chunk,
                                  float* out) {
  __shared__ float part[ROW_LANES][COLS];
  const int64_t c = blockIdx.x * int64_t(COLS) + threadIdx.x;
  const int64_t begin = blockIdx.y * chunk;
  const int64_t end = rows - begin < chunk ? rows : begin + chunk;
  float s = 0.0f;
  if (c < cols)
    for (int64_t r = begin + threadIdx.y; r < end; r += ROW_LANES) s += x[r * cols + c];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    for (int i = 1; i < ROW_LANES; ++i) s += part[i][threadIdx.x];
    out[blockIdx.y * cols + c] = s;
  }
}

void launch_column_sum(const float* x, int64_t rows, int64_t cols, int64_t n_chunks,
                       int64_t chunk, float* out, cudaStream_t stream) {
  const int64_t blocks = (cols + COLS - 1) / COLS;
  if (blocks > 0x7fffffff) throw std::invalid_argument("column_sum: too many columns");
  column_sum_kernel<<<dim3(unsigned(blocks), unsigned(n_chunks)), dim3(COLS, ROW_LANES), 0,
                      stream>>>(x, rows, cols, chunk, out);
  check_launch("column_sum");
}

// sum_to_double: each block sums a grid-stride share of x in double and writes its total; a
// second launch with one block adds the blocks' totals. The block count depends on n alone.
constexpr int SUM_THREADS = 1024;
constexpr int64_t SUM_PER_BLOCK = SUM_THREADS * 16, MAX_SUM_BLOCKS = 1024;

int64_t sum_blocks(int64_t n) {
  return std::clamp<int64_t>((n + SUM_PER_BLOCK - 1) / SUM_PER_BLOCK, 1, MAX_SUM_BLOCKS);
}

template <class T>
__global__ void __launch_bounds__(SUM_THREADS) block_sums_kernel(const T* x, int64_t n,
                                                                 double* out) {
  __shared__ double part[SUM_THREADS];
  double s = 0.0;
  for (int64_t i = blockIdx.x * int64_t(SUM_THREADS) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * SUM_THREADS)
    s += x[i];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int half = SUM_THREADS / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}

}  // namespace

int64_t column_sum_scratch(int64_t rows, int64_t cols) {
  const int64_t n = chunks(rows);
  return n == 1 ? 0 : n * cols;
}

void column_sum(const float* x, int64_t rows, int64_t cols, float* out, float* scratch,
                cudaStream_t stream) {
  if (cols == 0) return;
  const int64_t n = chunks(rows);
  if (n == 1) {
    launch_column_sum(x, rows, cols, 1, rows, out, stream);
    return;
  }
  launch_column_sum(x, rows, cols, n, chunk_rows(rows), scratch, stream);
  launch_column_sum(scratch, n, cols, 1, n, out, stream);
}

int64_t sum_to_double_scratch(int64_t n) {
  const int64_t blocks = sum_blocks(n);
  return blocks == 1 ? 0 : blocks;
}

void sum_to_double(const float* x, int64_t n, double* out, double* scratch,
                   cudaStream_t stream) {
  const int64_t blocks = sum_blocks(n);
  if (blocks == 1) {
    block_sums_kernel<float><<<1, SUM_THREADS, 0, stream>>>(x, n, out);
  } else {
    block_sums_kernel<float><<<unsigned(blocks), SUM_THREADS, 0, stream>>>(x, n, scratch);
    check_launch("sum_to_double");
    block_sums_kernel<double><<<1, SUM_THREADS, 0, stream>>>(scratch, blocks, out);
  }
  check_launch("sum_to_double");
}

}  // namespace shendu::cuda
