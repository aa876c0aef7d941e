// Fused losses on device arrays. Each writes the gradient (already divided by the mean's count)
// and one loss term per row or element into `terms`; reduce.h's sum_to_double then totals them
// on the GPU, so the host reads back a single scalar.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// logits (rows, cols), labels (rows,) in [0, cols); terms (rows,): -log softmax(logits)[label].
void sparse_softmax_cross_entropy(const float* logits, const int64_t* labels, int64_t rows,
                                  int64_t cols, float* grad, float* terms, cudaStream_t stream);
// targets (rows, cols), any distribution; terms (rows,): -sum targets * log softmax(logits).
void softmax_cross_entropy(const float* logits, const float* targets, int64_t rows, int64_t cols,
                           float* grad, float* terms, cudaStream_t stream);

// Element-wise losses of (prediction, target) pairs, n of them; terms (n,).
enum class PairLoss : int {
  BinaryCrossEntropy = 0,         // on probabilities clipped to [1e-7, 1 - 1e-7]
  SigmoidBinaryCrossEntropy = 1,  // on logits, computed stably
  MeanSquaredError = 2,
};
void pair_loss(PairLoss loss, const float* pred, const float* targets, int64_t n, float* grad,
               float* terms, cudaStream_t stream);

}  // namespace shendu::cuda
