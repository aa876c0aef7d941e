#include "dense/train_step.h"

#include <cmath>
#include <utility>

#include "dense/dense.h"
#include "dropout/dropout.h"
#include "losses/losses.h"
#include "optimizers/optimizers.h"

namespace shendu {

namespace {

// Keras's L1L2 gradient added to grad in float32, in the order keras.regularizers does it
// (g = l1 * sign(w); g += 2 l2 * w; grad += g), so both paths round identically.
void add_penalty_gradient(const Penalty& p, const float* w, float* grad, int64_t size) {
  const float l1 = static_cast<float>(p.l1);
  const float l2x2 = static_cast<float>(2.0 * p.l2);
  for (int64_t i = 0; i < size; ++i) {
    float g = 0.0f;
    if (p.l1 != 0.0) g += l1 * static_cast<float>((w[i] > 0.0f) - (w[i] < 0.0f));
    if (p.l2 != 0.0) g += l2x2 * w[i];
    grad[i] += g;
  }
}

double penalty(const Penalty& p, const float* w, int64_t size) {
  double abs_sum = 0.0, sq_sum = 0.0;
  for (int64_t i = 0; i < size; ++i) {
    abs_sum += std::fabs(static_cast<double>(w[i]));
    sq_sum += static_cast<double>(w[i]) * w[i];
  }
  return p.l1 * abs_sum + p.l2 * sq_sum;
}

// numpy.argmax over one row: the first maximum, and the first NaN if there is one.
int64_t argmax(const float* row, int64_t cols) {
  int64_t best = 0;
  for (int64_t j = 1; j < cols; ++j)
    if (row[j] > row[best] || (std::isnan(row[j]) && !std::isnan(row[best]))) best = j;
  return best;
}

}  // namespace

DenseStack::DenseStack(std::vector<StepLayer> layers, StepLoss loss,
                       StepOptimizerConfig optimizer, std::vector<StepMetricConfig> metrics)
    : layers_(std::move(layers)), loss_(loss), optimizer_(optimizer),
      metrics_(std::move(metrics)) {
  const size_t count = layers_.size();
  dense_out_.resize(count);
  masks_.resize(count);
  dropped_.resize(count);
  grads_.resize(count);
  dkernel_.resize(count);
  dbias_.resize(count);
  for (size_t k = 0; k < count; ++k) {
    dkernel_[k].resize(static_cast<size_t>(layers_[k].in * layers_[k].out));
    if (layers_[k].bias.value) dbias_[k].resize(static_cast<size_t>(layers_[k].out));
  }
}

void DenseStack::reserve(int64_t n) {
  if (n <= capacity_) return;
  for (size_t k = 0; k < layers_.size(); ++k) {
    const auto size = static_cast<size_t>(n * layers_[k].out);
    dense_out_[k].resize(size);
    grads_[k].resize(size);
    if (layers_[k].dropout_rate > 0.0) {
      masks_[k].resize(size);
      dropped_[k].resize(size);
    }
  }
  capacity_ = n;
}

const float* DenseStack::layer_output(size_t k) const {
  return layers_[k].dropout_rate > 0.0 ? dropped_[k].data() : dense_out_[k].data();
}

double DenseStack::loss_and_gradient(const float* out, const float* targets,
                                     const int64_t* labels, int64_t n, float* grad) const {
  const int64_t cols = layers_.back().out;
  switch (loss_) {
    case StepLoss::SparseSoftmaxCrossEntropy:
      return sparse_softmax_cross_entropy(out, labels, n, cols, grad);
    case StepLoss::SoftmaxCrossEntropy:
      return softmax_cross_entropy(out, targets, n, cols, grad);
    case StepLoss::SigmoidBinaryCrossEntropy:
      return sigmoid_binary_cross_entropy(out, targets, n * cols, grad);
    case StepLoss::BinaryCrossEntropy:
      return binary_cross_entropy(out, targets, n * cols, grad);
    case StepLoss::MeanSquaredError:
      return mean_squared_error(out, targets, n * cols, grad);
  }
  return 0.0;
}

void DenseStack::update(const StepWeight& w, float* grad, int64_t size, double learning_rate,
                        int64_t step) const {
  if (w.penalty.active()) add_penalty_gradient(w.penalty, w.value, grad, size);
  const StepOptimizerConfig& o = optimizer_;
  switch (o.kind) {
    case StepOptimizer::Sgd:
      sgd_update(w.value, grad, w.slots.empty() ? nullptr : w.slots[0], size, learning_rate,
                 o.momentum, o.nesterov);
      break;
    case StepOptimizer::Adam:
      adam_update(w.value, grad, nullptr, w.slots[0], w.slots[1], size, step, learning_rate, o.beta_1,
                  o.beta_2, o.epsilon);
      break;
    case StepOptimizer::Rmsprop:
      rmsprop_update(w.value, grad, nullptr, w.slots[0], size, learning_rate, o.rho, o.epsilon);
      break;
  }
}

double DenseStack::count(const StepMetricConfig& metric, const float* out, const float* targets,
                         const int64_t* labels, int64_t n) const {
  const int64_t cols = layers_.back().out;
  int64_t hits = 0;
  switch (metric.kind) {
    case StepMetric::BinaryAccuracy:
      for (int64_t i = 0; i < n * cols; ++i) hits += (out[i] > metric.cut) == (targets[i] > 0.5f);
      break;
    case StepMetric::SparseCategoricalAccuracy:
      for (int64_t i = 0; i < n; ++i) hits += argmax(out + i * cols, cols) == labels[i];
      break;
    case StepMetric::CategoricalAccuracy:
      for (int64_t i = 0; i < n; ++i)
        hits += argmax(out + i * cols, cols) == argmax(targets + i * cols, cols);
      break;
  }
  return static_cast<double>(hits);
}

double DenseStack::step(const float* x, const float* targets, const int64_t* labels, int64_t n,
                        double learning_rate, int64_t step, const uint64_t* seeds,
                        double* metric_totals) {
  reserve(n);
  const size_t count_layers = layers_.size();
  // Forward; the penalties are taken on the weights before this step's update, as Keras does.
  double loss = 0.0;
  const float* in = x;
  for (size_t k = 0; k < count_layers; ++k) {
    const StepLayer& l = layers_[k];
    dense_forward(in, l.kernel.value, l.bias.value, dense_out_[k].data(), n, l.in, l.out,
                  l.activation);
    if (l.dropout_rate > 0.0)
      dropout_forward(dense_out_[k].data(), n * l.out, l.dropout_rate, *seeds++,
                      dropped_[k].data(), masks_[k].data());
    in = layer_output(k);
  }
  const float* out = dense_out_.back().data();
  loss += loss_and_gradient(out, targets, labels, n, grads_.back().data());
  for (const StepLayer& l : layers_) {
    if (l.kernel.penalty.active()) loss += penalty(l.kernel.penalty, l.kernel.value, l.in * l.out);
    if (l.bias.value && l.bias.penalty.active())
      loss += penalty(l.bias.penalty, l.bias.value, l.out);
  }
  for (size_t m = 0; m < metrics_.size(); ++m)
    metric_totals[m] = count(metrics_[m], out, targets, labels, n);

  // Backward, updating each layer as soon as its gradients exist: the input gradient it hands
  // down was computed with the weights before the update.
  for (size_t k = count_layers; k-- > 0;) {
    const StepLayer& l = layers_[k];
    float* dz = grads_[k].data();
    const int64_t size = n * l.out;
    if (l.dropout_rate > 0.0) {
      const float* mask = masks_[k].data();
      for (int64_t i = 0; i < size; ++i) dz[i] *= mask[i];
    }
    if (l.activation != Activation::Linear)
      activate_backward(l.activation, dz, dense_out_[k].data(), dz, n, l.out);
    // The first layer's input gradient is not needed: dense_backward skips a null dx.
    dense_backward(dz, k ? layer_output(k - 1) : x, l.kernel.value, dense_out_[k].data(),
                   k ? grads_[k - 1].data() : nullptr, dkernel_[k].data(),
                   l.bias.value ? dbias_[k].data() : nullptr, n, l.in, l.out,
                   Activation::Linear);
    update(l.kernel, dkernel_[k].data(), l.in * l.out, learning_rate, step);
    if (l.bias.value) update(l.bias, dbias_[k].data(), l.out, learning_rate, step);
  }
  return loss;
}

}  // namespace shendu
