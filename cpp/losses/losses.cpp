#include "losses/losses.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "losses/loss_kernels.h"

namespace shendu {

namespace loss {
const Kernels& kernels_generic() { return Loops<0>::kKernels; }
}  // namespace loss

namespace {

// Sums block_sum(begin, end) over blocks of `block` items of [0, n), adding the block results in
// block order: the blocks do not depend on the thread count, so neither does the total.
template <class BlockSum>
double blocked_sum(int64_t n, int64_t block, int64_t work_per_item, BlockSum block_sum) {
  const int64_t blocks = (n + block - 1) / block;
  std::vector<double> partial(blocks);
  parallel_for(blocks, block * work_per_item, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      partial[b] = block_sum(b * block, std::min(n, (b + 1) * block));
  });
  return std::accumulate(partial.begin(), partial.end(), 0.0);
}

const loss::Kernels& active() {
  return for_isa(loss::kernels_generic, loss::kernels_avx2, loss::kernels_avx512);
}

// Mean over rows of -sum_c t_c log softmax(x)_c, with gradient (softmax * sum(t) - t) / N. The
// targets are the dense (N, C) t or, when t is null, one-hot at labels.
double softmax_cross_entropy_impl(const float* logits, const float* t, const int64_t* labels,
                                  int64_t N, int64_t C, float* grad) {
  if (N == 0) return 0.0;
  const loss::Kernels& k = active();
  const double inv_n = 1.0 / static_cast<double>(N);
  const int64_t rows_per_block = std::max<int64_t>(1, 4096 / C);
  const double total = blocked_sum(N, rows_per_block, 8 * C, [&](int64_t r0, int64_t r1) {
    double sum = 0.0;
    for (int64_t r = r0; r < r1; ++r)
      sum += k.softmax_xent_row(logits + r * C, t ? t + r * C : nullptr, t ? 0 : labels[r], C,
                                inv_n, grad + r * C);
    return sum;
  });
  return total * inv_n;
}

// Mean over n elements of elem(a, t, g), which returns an element's loss and sets g to its
// derivative w.r.t. a; grad receives g / n.
template <class Elem>
double elementwise_mean(const float* a, const float* t, int64_t n, float* grad, Elem elem) {
  if (n == 0) return 0.0;
  const double inv_n = 1.0 / static_cast<double>(n);
  const double total = blocked_sum(n, 4096, 16, [&](int64_t begin, int64_t end) {
    double sum = 0.0;
    for (int64_t i = begin; i < end; ++i) {
      double g;
      sum += elem(static_cast<double>(a[i]), static_cast<double>(t[i]), g);
      grad[i] = static_cast<float>(g * inv_n);
    }
    return sum;
  });
  return total * inv_n;
}

}  // namespace

double sparse_softmax_cross_entropy(const float* logits, const int64_t* labels, int64_t N,
                                    int64_t C, float* grad) {
  return softmax_cross_entropy_impl(logits, nullptr, labels, N, C, grad);
}

double softmax_cross_entropy(const float* logits, const float* targets, int64_t N, int64_t C,
                             float* grad) {
  return softmax_cross_entropy_impl(logits, targets, nullptr, N, C, grad);
}

double binary_cross_entropy(const float* probs, const float* targets, int64_t n, float* grad) {
  // Keras's epsilon, rounded to float32 as Keras (and the float32 reference) clip with it.
  constexpr float lo = 1e-7f;
  constexpr float hi = static_cast<float>(1.0 - 1e-7);
  return elementwise_mean(probs, targets, n, grad, [](double p, double t, double& g) {
    const bool clipped = p < lo || p > hi;  // false for NaN, which then propagates
    const double pc = p < lo ? lo : (p > hi ? hi : p);
    g = clipped ? 0.0 : (1.0 - t) / (1.0 - pc) - t / pc;
    return -(t * std::log(pc) + (1.0 - t) * std::log(1.0 - pc));
  });
}

double sigmoid_binary_cross_entropy(const float* logits, const float* targets, int64_t n,
                                    float* grad) {
  if (n == 0) return 0.0;
  const loss::Kernels& k = active();
  const double inv_n = 1.0 / static_cast<double>(n);
  const double total = blocked_sum(n, 4096, 16, [&](int64_t begin, int64_t end) {
    return k.sigmoid_xent(logits + begin, targets + begin, end - begin, inv_n, grad + begin);
  });
  return total * inv_n;
}

double mean_squared_error(const float* pred, const float* targets, int64_t n, float* grad) {
  return elementwise_mean(pred, targets, n, grad, [](double p, double t, double& g) {
    const double d = p - t;
    g = 2.0 * d;
    return d * d;
  });
}

double mean_absolute_error(const float* pred, const float* targets, int64_t n, float* grad) {
  return elementwise_mean(pred, targets, n, grad, [](double p, double t, double& g) {
    const double d = p - t;
    g = d > 0.0 ? 1.0 : (d < 0.0 ? -1.0 : d);  // sign, 0 at 0; a NaN propagates
    return std::fabs(d);
  });
}

double huber(const float* pred, const float* targets, int64_t n, float delta, float* grad) {
  const double dl = delta;
  return elementwise_mean(pred, targets, n, grad, [dl](double p, double t, double& g) {
    const double d = p - t, a = std::fabs(d);
    if (a <= dl) {
      g = d;
      return 0.5 * d * d;
    }
    g = d > 0.0 ? dl : (d < 0.0 ? -dl : d);  // NaN: the comparison above fails, d propagates
    return dl * a - 0.5 * dl * dl;
  });
}

}  // namespace shendu
