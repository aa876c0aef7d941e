#include "norm/norm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "norm/norm_kernels.h"

namespace shendu {

namespace norm {
const Kernels& kernels_generic() { return kKernels; }
}  // namespace norm

namespace {

const norm::Kernels& kernels() {
  return for_isa(norm::kernels_generic, norm::kernels_avx2, norm::kernels_avx512);
}

// A block of channels-last rows holds about this many floats (16 KB): it stays in L1 between the
// two reads of moments_rows. The block size depends on the shape only, so the merged statistics
// are the same for any thread count.
constexpr int64_t kBlockFloats = 4096;
// Layer norm's backward sums dgamma and dbeta over rows in at most this many blocks of rows
// (partial sums: kMaxRowBlocks rows of width floats each).
constexpr int64_t kMaxRowBlocks = 64;

int64_t block_rows(int64_t C) { return std::max<int64_t>(1, kBlockFloats / std::max<int64_t>(C, 1)); }

// Running (count, mean, M2) of one channel; merge() adds a block's (Chan et al.), in double.
struct Moments {
  double n = 0, mean = 0, m2 = 0;
  // A block of `count` values whose differences d to `shift` sum to s1, their squares to s2.
  void merge(double count, float shift, float s1, float s2) {
    const double bmean = shift + s1 / count;
    const double bm2 = std::max(0.0, s2 - static_cast<double>(s1) * s1 / count);
    const double total = n + count, delta = bmean - mean;
    mean += delta * count / total;
    m2 += bm2 + delta * delta * n * count / total;
    n = total;
  }
  double variance() const { return n > 0 ? m2 / n : std::numeric_limits<double>::quiet_NaN(); }
  double mean_or_nan() const { return n > 0 ? mean : std::numeric_limits<double>::quiet_NaN(); }
};

// The moments of every channel (C entries).
std::vector<Moments> channel_moments(const ChannelShape& s, const float* x) {
  const auto& k = kernels();
  const int64_t C = s.channels;
  std::vector<Moments> out(C);
  if (s.count() == 0) return out;
  if (s.inner == 1) {
    const int64_t per = block_rows(C), blocks = (s.outer + per - 1) / per;
    std::vector<float> part(3 * blocks * C);  // shift, s1, s2 of each block
    parallel_for(blocks, per * C * 4, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        float* p = part.data() + 3 * b * C;
        const int64_t r0 = b * per;
        k.moments_rows(x + r0 * C, std::min(per, s.outer - r0), C, p, p + C, p + 2 * C);
      }
    });
    for (int64_t b = 0; b < blocks; ++b) {
      const float* p = part.data() + 3 * b * C;
      const double rows = static_cast<double>(std::min(per, s.outer - b * per));
      for (int64_t c = 0; c < C; ++c) out[c].merge(rows, p[c], p[C + c], p[2 * C + c]);
    }
    return out;
  }
  parallel_for(C, s.count() * 4, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t o = 0; o < s.outer; ++o) {
        float shift, s1, s2;
        k.moments_run(x + (o * C + c) * s.inner, s.inner, &shift, &s1, &s2);
        out[c].merge(static_cast<double>(s.inner), shift, s1, s2);
      }
  });
  return out;
}

// y = ((x - hi) - lo) * a + b per channel.
void channel_affine(const ChannelShape& s, const float* x, const float* hi, const float* lo,
                    const float* a, const float* b, float* y) {
  const auto& k = kernels();
  const int64_t C = s.channels;
  if (s.inner == 1) {
    parallel_for(s.outer, C * 2, [&](int64_t r0, int64_t r1) {
      k.affine_rows(x + r0 * C, r1 - r0, C, hi, lo, a, b, y + r0 * C);
    });
    return;
  }
  parallel_for(s.outer * C, s.inner * 2, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t c = q % C;
      k.affine_run(x + q * s.inner, s.inner, hi[c], lo[c], a[c], b[c], y + q * s.inner);
    }
  });
}

// The per-channel affine map of a normalization by (mean, var): a = gamma / sqrt(var + eps),
// b = beta, and the mean split into hi + lo.
struct Affine {
  std::vector<float> hi, lo, a, b;
  explicit Affine(int64_t C) : hi(C), lo(C), a(C), b(C) {}
  void set(int64_t c, double mean, float var, const float* gamma, const float* beta, float eps) {
    hi[c] = static_cast<float>(mean);
    lo[c] = static_cast<float>(mean - hi[c]);
    a[c] = (gamma ? gamma[c] : 1.0f) / std::sqrt(var + eps);
    b[c] = beta ? beta[c] : 0.0f;
  }
  void apply(const ChannelShape& s, const float* x, float* y) const {
    channel_affine(s, x, hi.data(), lo.data(), a.data(), b.data(), y);
  }
};

}  // namespace

void batch_norm_train(const ChannelShape& s, const float* x, const float* gamma,
                      const float* beta, float eps, float* y, float* mean, float* var) {
  const std::vector<Moments> m = channel_moments(s, x);
  Affine f(s.channels);
  for (int64_t c = 0; c < s.channels; ++c) {
    mean[c] = static_cast<float>(m[c].mean_or_nan());
    var[c] = static_cast<float>(m[c].variance());
    f.set(c, m[c].mean_or_nan(), var[c], gamma, beta, eps);
  }
  f.apply(s, x, y);
}

void batch_norm_infer(const ChannelShape& s, const float* x, const float* mean, const float* var,
                      const float* gamma, const float* beta, float eps, float* y) {
  Affine f(s.channels);
  for (int64_t c = 0; c < s.channels; ++c) f.set(c, mean[c], var[c], gamma, beta, eps);
  f.apply(s, x, y);
}

void batch_norm_backward(const ChannelShape& s, const float* dy, const float* x,
                         const float* gamma, const float* mean, const float* var, float eps,
                         float* dx, float* dgamma, float* dbeta) {
  const auto& k = kernels();
  const int64_t C = s.channels;
  std::vector<float> istd(C);
  for (int64_t c = 0; c < C; ++c) istd[c] = 1.0f / std::sqrt(var[c] + eps);
  std::vector<double> sdy(C, 0.0), sdyx(C, 0.0);
  if (s.inner == 1) {
    const int64_t per = block_rows(C), blocks = (s.outer + per - 1) / per;
    std::vector<float> part(2 * blocks * C, 0.0f);
    parallel_for(blocks, per * C * 4, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t r0 = b * per, at = r0 * C;
        float* p = part.data() + 2 * b * C;
        k.grad_sums_rows(dy + at, x + at, std::min(per, s.outer - r0), C, mean, istd.data(), p,
                         p + C);
      }
    });
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t c = 0; c < C; ++c) {
        sdy[c] += part[2 * b * C + c];
        sdyx[c] += part[(2 * b + 1) * C + c];
      }
  } else {
    parallel_for(C, s.count() * 4, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t o = 0; o < s.outer; ++o) {
          const int64_t at = (o * C + c) * s.inner;
          float a, b;
          k.grad_sums_run(dy + at, x + at, s.inner, mean[c], istd[c], &a, &b);
          sdy[c] += a, sdyx[c] += b;
        }
    });
  }
  std::vector<float> a(C), b(C), g(C);
  const double n = static_cast<double>(std::max<int64_t>(s.count(), 1));
  for (int64_t c = 0; c < C; ++c) {
    dgamma[c] = static_cast<float>(sdyx[c]);
    dbeta[c] = static_cast<float>(sdy[c]);
    a[c] = (gamma ? gamma[c] : 1.0f) * istd[c];
    b[c] = static_cast<float>(sdy[c] / n);
    g[c] = static_cast<float>(sdyx[c] / n);
  }
  if (s.inner == 1) {
    parallel_for(s.outer, C * 4, [&](int64_t r0, int64_t r1) {
      k.dx_rows(dy + r0 * C, x + r0 * C, r1 - r0, C, mean, istd.data(), a.data(), b.data(),
                g.data(), dx + r0 * C);
    });
    return;
  }
  parallel_for(s.outer * C, s.inner * 4, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t c = q % C, at = q * s.inner;
      k.dx_run(dy + at, x + at, s.inner, mean[c], istd[c], a[c], b[c], g[c], dx + at);
    }
  });
}

void layer_norm_forward(int64_t rows, int64_t width, const float* x, const float* gamma,
                        const float* beta, float eps, float* y, float* mean, float* rstd) {
  const auto& k = kernels();
  if (width == 0) {
    std::fill(mean, mean + rows, std::numeric_limits<float>::quiet_NaN());
    std::fill(rstd, rstd + rows, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  parallel_for(rows, width * 6, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * width;
      float shift, s1, s2;
      k.moments_run(xr, width, &shift, &s1, &s2);
      Moments m;
      m.merge(static_cast<double>(width), shift, s1, s2);
      const float var = static_cast<float>(m.variance());
      const float hi = static_cast<float>(m.mean), lo = static_cast<float>(m.mean - hi);
      mean[r] = hi;
      rstd[r] = 1.0f / std::sqrt(var + eps);
      k.layer_norm_row(xr, width, hi, lo, rstd[r], gamma, beta, y + r * width);
    }
  });
}

void layer_norm_backward(int64_t rows, int64_t width, const float* dy, const float* x,
                         const float* gamma, const float* mean, const float* rstd, float* dx,
                         float* dgamma, float* dbeta) {
  const auto& k = kernels();
  const int64_t blocks = std::min(rows, kMaxRowBlocks);
  std::fill(dgamma, dgamma + width, 0.0f);
  std::fill(dbeta, dbeta + width, 0.0f);
  if (blocks == 0 || width == 0) return;
  const int64_t per = (rows + blocks - 1) / blocks;
  std::vector<float> part(2 * blocks * width, 0.0f);
  parallel_for_each_item(blocks, per * width * 8, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      float* pg = part.data() + 2 * b * width;
      for (int64_t r = b * per; r < std::min(rows, (b + 1) * per); ++r) {
        const int64_t at = r * width;
        k.layer_norm_row_backward(dy + at, x + at, width, gamma, mean[r], rstd[r], dx + at, pg,
                                  pg + width);
      }
    }
  });
  for (int64_t j = 0; j < width; ++j) {
    double g = 0.0, b = 0.0;
    for (int64_t q = 0; q < blocks; ++q) {
      g += part[2 * q * width + j];
      b += part[(2 * q + 1) * width + j];
    }
    dgamma[j] = static_cast<float>(g);
    dbeta[j] = static_cast<float>(b);
  }
}

}  // namespace shendu
