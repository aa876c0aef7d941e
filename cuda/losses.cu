#include "launch.h"
#include "losses.h"
#include "softmax.cuh"

namespace shendu::cuda {

namespace {

// One warp per row. TargetOf(j) is the target probability of class j; the loss of the row is
// sum_j t_j * (lse - z_j) and its gradient (softmax_j * sum_j t_j - t_j) / rows, which is
// softmax - t for a proper distribution and stays exact for any other. lse - z_j is formed as
// (max - z_j) + log(sum): both parts are >= 0 and small, where lse itself (1e4 for logits of 1e4)
// would be rounded to the ulp of the logits before the subtraction.
template <class TargetOf>
__device__ __forceinline__ void softmax_xent_row(const float* z, int64_t cols, float inv_rows,
                                                 float* grad, float* term, TargetOf target_of) {
  const int lane = threadIdx.x % 32;
  const RowSoftmax s = row_softmax(z, cols, lane);
  const float log_sum = logf(s.sum);
  const float inv_sum = 1.0f / s.sum;
  float t_sum = 0.0f, loss = 0.0f;
  for (int64_t j = lane; j < cols; j += 32) {
    const float t = target_of(j);
    t_sum += t;
    if (t != 0.0f) loss += t * ((s.max - z[j]) + log_sum);  // 0 * inf: NaN for a -inf logit
  }
  t_sum = warp_sum(t_sum);
  loss = warp_sum(loss);
  for (int64_t j = lane; j < cols; j += 32)
    grad[j] = (expf(z[j] - s.max) * inv_sum * t_sum - target_of(j)) * inv_rows;
  if (lane == 0) *term = loss;
}

__global__ void sparse_softmax_xent_kernel(const float* logits, const int64_t* labels,
                                           int64_t rows, int64_t cols, float inv_rows,
                                           float* grad, float* terms) {
  const int64_t row = blockIdx.x * int64_t(ROWS_PER_BLOCK) + threadIdx.x / 32;
  if (row >= rows) return;
  const int64_t label = labels[row];
  softmax_xent_row(logits + row * cols, cols, inv_rows, grad + row * cols, terms + row,
                   [label](int64_t j) { return j == label ? 1.0f : 0.0f; });
}

__global__ void softmax_xent_kernel(const float* logits, const float* targets, int64_t rows,
                                    int64_t cols, float inv_rows, float* grad, float* terms) {
  const int64_t row = blockIdx.x * int64_t(ROWS_PER_BLOCK) + threadIdx.x / 32;
  if (row >= rows) return;
  const float* t = targets + row * cols;
  softmax_xent_row(logits + row * cols, cols, inv_rows, grad + row * cols, terms + row,
                   [t](int64_t j) { return t[j]; });
}

__device__ __forceinline__ void pair_term(PairLoss loss, float p, float t, float inv_n,
                                          float* grad, float* term) {
  switch (loss) {
    case PairLoss::BinaryCrossEntropy: {
      constexpr float lo = 1e-7f, hi = 1.0f - 1e-7f;
      // Comparisons, not fminf/fmaxf: those return the other operand for a NaN p, which would
      // turn a NaN prediction into a finite loss; the CPU propagates it.
      const float c = p < lo ? lo : (p > hi ? hi : p);
      *term = -(t * logf(c) + (1.0f - t) * logf(1.0f - c));
      // Clipping is flat, so no gradient flows where it bites.
      *grad = (p < lo || p > hi) ? 0.0f : (c - t) / (c * (1.0f - c)) * inv_n;
      break;
    }
    case PairLoss::SigmoidBinaryCrossEntropy:
      // max(z, 0) - z t + log(1 + exp(-|z|)): no overflow for any z. The sum in double, as on
      // the CPU: max(z, 0) - z t cancels for large z and t near 1.
      *term = float(double(fmaxf(p, 0.0f)) - double(p) * double(t) +
                    double(log1pf(expf(-fabsf(p)))));
      *grad = (1.0f / (1.0f + expf(-p)) - t) * inv_n;
      break;
    default: {
      const float d = p - t;
      *term = d * d;
      *grad = 2.0f * d * inv_n;
    }
  }
}

__global__ void pair_loss_kernel(PairLoss loss, const float* pred, const float* targets, int64_t n,
                                 float inv_n, float* grad, float* terms) {
  SHENDU_GRID_STRIDE(i, n)
    pair_term(loss, pred[i], targets[i], inv_n, grad + i, terms + i);
}

unsigned row_blocks(int64_t rows) {
  const int64_t blocks = (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
  if (blocks > 0x7fffffff) throw std::invalid_argument("softmax cross-entropy: too many rows");
  return unsigned(blocks);
}

}  // namespace

void sparse_softmax_cross_entropy(const float* logits, const int64_t* labels, int64_t rows,
                                  int64_t cols, float* grad, float* terms, cudaStream_t stream) {
  if (rows == 0) return;
  sparse_softmax_xent_kernel<<<row_blocks(rows), ROWS_PER_BLOCK * 32, 0, stream>>>(
      logits, labels, rows, cols, 1.0f / float(rows), grad, terms);
  check_launch("sparse_softmax_cross_entropy");
}

void softmax_cross_entropy(const float* logits, const float* targets, int64_t rows, int64_t cols,
                           float* grad, float* terms, cudaStream_t stream) {
  if (rows == 0) return;
  softmax_xent_kernel<<<row_blocks(rows), ROWS_PER_BLOCK * 32, 0, stream>>>(
      logits, targets, rows, cols, 1.0f / float(rows), grad, terms);
  check_launch("softmax_cross_entropy");
}

void pair_loss(PairLoss loss, const float* pred, const float* targets, int64_t n, float* grad,
               float* terms, cudaStream_t stream) {
  if (n == 0) return;
  pair_loss_kernel<<<grid_for(n, 256), 256, 0, stream>>>(loss, pred, targets, n,
                                                         1.0f / float(n), grad, terms);
  check_launch("pair_loss");
}

}  // namespace shendu::cuda
