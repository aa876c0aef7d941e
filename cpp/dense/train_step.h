// A whole training step (forward, loss, backward, regularizers, optimizer update) of a stack of
// dense layers, each optionally followed by dropout, in one call with preallocated workspaces.
// It composes the existing kernels (dense_forward / dense_backward, activate_backward,
// dropout_forward, the fused losses and the optimizer updates) in the order the per-layer Keras
// path calls them, so it computes bit for bit what that path computes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "activations/activations.h"

namespace shendu {

// The loss on the last layer's output; the *_cross_entropy on logits ones expect that layer's
// activation to be left out (Linear), as Keras fuses softmax/sigmoid into the loss.
enum class StepLoss {
  SparseSoftmaxCrossEntropy,  // targets: int64 labels (n,)
  SoftmaxCrossEntropy,        // targets: float (n, C)
  SigmoidBinaryCrossEntropy,  // targets: float, the output's size
  BinaryCrossEntropy,         // on probabilities
  MeanSquaredError,
};

enum class StepOptimizer { Sgd, Adam, Rmsprop };

struct StepOptimizerConfig {
  StepOptimizer kind = StepOptimizer::Sgd;
  double momentum = 0.0;  // SGD
  bool nesterov = false;
  double beta_1 = 0.9, beta_2 = 0.999;  // Adam
  double rho = 0.9;                     // RMSprop
  double epsilon = 1e-7;                // Adam, RMSprop
};

// Keras L1L2: penalty l1 * sum|w| + l2 * sum w^2, gradient l1 * sign(w) + 2 * l2 * w.
struct Penalty {
  double l1 = 0.0, l2 = 0.0;
  bool active() const { return l1 != 0.0 || l2 != 0.0; }
};

// One weight updated in place (kernel or bias), with its optimizer slots (velocity; m, v;
// avg_sq): none for plain SGD.
struct StepWeight {
  float* value = nullptr;
  std::vector<float*> slots;
  Penalty penalty;
};

struct StepLayer {
  int64_t in = 0, out = 0;
  Activation activation = Activation::Linear;
  StepWeight kernel;
  StepWeight bias;             // bias.value == nullptr: no bias
  double dropout_rate = 0.0;   // > 0: a dropout layer follows this dense layer
};

// Counts computed on the output (logits when the loss fuses the activation) per step.
enum class StepMetric {
  BinaryAccuracy,             // (out > cut) == (target > 0.5), summed over elements
  SparseCategoricalAccuracy,  // argmax(out) == label, summed over rows
  CategoricalAccuracy,        // argmax(out) == argmax(target), summed over rows
};

struct StepMetricConfig {
  StepMetric kind = StepMetric::BinaryAccuracy;
  float cut = 0.5f;  // BinaryAccuracy: the threshold, on the scale of the output
};

class DenseStack {
 public:
  DenseStack(std::vector<StepLayer> layers, StepLoss loss, StepOptimizerConfig optimizer,
             std::vector<StepMetricConfig> metrics);

  // One step on x (n, in of the first layer) and targets (float, or labels for the sparse loss).
  // seeds: one per dropout layer, in order. step: the optimizer's iteration count (>= 1).
  // Returns the mean loss plus the penalties; metric_totals gets one count per metric.
  double step(const float* x, const float* targets, const int64_t* labels, int64_t n,
              double learning_rate, int64_t step, const uint64_t* seeds, double* metric_totals);

  // The last step's output (n, out of the last layer): logits when the loss fuses them.
  const float* output() const { return dense_out_.back().data(); }

  size_t metric_count() const { return metrics_.size(); }

 private:
  void reserve(int64_t n);
  double loss_and_gradient(const float* out, const float* targets, const int64_t* labels,
                           int64_t n, float* grad) const;
  void update(const StepWeight& w, float* grad, int64_t size, double learning_rate,
              int64_t step) const;
  double count(const StepMetricConfig& metric, const float* out, const float* targets,
               const int64_t* labels, int64_t n) const;

  std::vector<StepLayer> layers_;
  StepLoss loss_;
  StepOptimizerConfig optimizer_;
  std::vector<StepMetricConfig> metrics_;
  int64_t capacity_ = -1;  // rows the per-batch workspaces hold
  // What layer k hands to the next one: its dropout output, or its dense output.
  const float* layer_output(size_t k) const;

  // Per layer: activated dense output, dropout mask and output (empty without dropout),
  // gradient w.r.t. the layer's output, kernel and bias gradients.
  std::vector<std::vector<float>> dense_out_, masks_, dropped_, grads_, dkernel_, dbias_;
};

}  // namespace shendu
