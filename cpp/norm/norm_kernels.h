// The normalization inner loops, compiled once per instruction set: norm.cpp (portable),
// norm_avx2.cpp and norm_avx512.cpp include this file and their compile flags widen the vectors.
// Internal linkage keeps the per-ISA copies apart; norm.cpp picks one table at run time.
//
// Two layouts share each job: "rows" walks a block of rows of C contiguous channels (the
// channels-last case, vectorized across channels), "run" walks one contiguous run of values of
// a single channel or row (channels-first batch norm, layer norm; vectorized along the run).
#pragma once
#include <cstdint>

namespace shendu::norm {

struct Kernels {
  // Per channel of a rows x C block: shift = a rough mean (the first row plus the mean of the
  // differences to it), s1 = sum(x - shift), s2 = sum((x - shift)^2). The block is read twice
  // and should fit in L1.
  void (*moments_rows)(const float* x, int64_t rows, int64_t C, float* shift, float* s1,
                       float* s2);
  void (*moments_run)(const float* x, int64_t n, float* shift, float* s1, float* s2);
  // y = ((x - hi) - lo) * a + b: hi + lo is the mean, split so x - mean keeps its precision.
  void (*affine_rows)(const float* x, int64_t rows, int64_t C, const float* hi, const float* lo,
                      const float* a, const float* b, float* y);
  void (*affine_run)(const float* x, int64_t n, float hi, float lo, float a, float b, float* y);
  // sdy += sum(dy), sdyx += sum(dy * (x - mean) * istd), per channel.
  void (*grad_sums_rows)(const float* dy, const float* x, int64_t rows, int64_t C,
                         const float* mean, const float* istd, float* sdy, float* sdyx);
  void (*grad_sums_run)(const float* dy, const float* x, int64_t n, float mean, float istd,
                        float* sdy, float* sdyx);
  // dx = a * (dy - b - (x - mean) * istd * c).
  void (*dx_rows)(const float* dy, const float* x, int64_t rows, int64_t C, const float* mean,
                  const float* istd, const float* a, const float* b, const float* c, float* dx);
  void (*dx_run)(const float* dy, const float* x, int64_t n, float mean, float istd, float a,
                 float b, float c, float* dx);
  // Layer norm of one row of n: y = ((x - hi) - lo) * rstd * gamma + beta (gamma, beta nullable).
  void (*layer_norm_row)(const float* x, int64_t n, float hi, float lo, float rstd,
                         const float* gamma, const float* beta, float* y);
  // Its backward for one row: g = dy * gamma, xhat = (x - mean) * rstd,
  // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)); dgamma += dy * xhat, dbeta += dy.
  void (*layer_norm_row_backward)(const float* dy, const float* x, int64_t n, const float* gamma,
                                  float mean, float rstd, float* dx, float* dgamma, float* dbeta);
};

const Kernels& kernels_generic();  // norm.cpp
const Kernels& kernels_avx2();     // norm_avx2.cpp
const Kernels& kernels_avx512();   // norm_avx512.cpp

namespace {

void moments_rows(const float* x, int64_t rows, int64_t C, float* shift, float* s1, float* s2) {
  for (int64_t c = 0; c < C; ++c) s1[c] = 0.0f;
  for (int64_t r = 1; r < rows; ++r) {
    const float* xr = x + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) s1[c] += xr[c] - x[c];
  }
  const float inv = 1.0f / static_cast<float>(rows);
  for (int64_t c = 0; c < C; ++c) shift[c] = x[c] + s1[c] * inv, s1[c] = 0.0f, s2[c] = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      const float d = xr[c] - shift[c];
      s1[c] += d;
      s2[c] += d * d;
    }
  }
}

void moments_run(const float* x, int64_t n, float* shift, float* s1, float* s2) {
  float first = 0.0f;
#pragma omp simd reduction(+ : first)
  for (int64_t i = 0; i < n; ++i) first += x[i] - x[0];
  const float m = x[0] + first / static_cast<float>(n);
  float a = 0.0f, b = 0.0f;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; ++i) {
    const float d = x[i] - m;
    a += d;
    b += d * d;
  }
  *shift = m, *s1 = a, *s2 = b;
}

void affine_rows(const float* x, int64_t rows, int64_t C, const float* hi, const float* lo,
                 const float* a, const float* b, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] = ((xr[c] - hi[c]) - lo[c]) * a[c] + b[c];
  }
}

void affine_run(const float* x, int64_t n, float hi, float lo, float a, float b, float* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - hi) - lo) * a + b;
}

void grad_sums_rows(const float* dy, const float* x, int64_t rows, int64_t C, const float* mean,
                    const float* istd, float* sdy, float* sdyx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *g = dy + r * C, *xr = x + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      sdy[c] += g[c];
      sdyx[c] += g[c] * ((xr[c] - mean[c]) * istd[c]);
    }
  }
}

void grad_sums_run(const float* dy, const float* x, int64_t n, float mean, float istd,
                   float* sdy, float* sdyx) {
  float a = 0.0f, b = 0.0f;
#pragma omp simd reduction(+ : a, b)
  for (int64_t i = 0; i < n; ++i) {
    a += dy[i];
    b += dy[i] * ((x[i] - mean) * istd);
  }
  *sdy = a, *sdyx = b;
}

void dx_rows(const float* dy, const float* x, int64_t rows, int64_t C, const float* mean,
             const float* istd, const float* a, const float* b, const float* c, float* dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *g = dy + r * C, *xr = x + r * C;
    float* d = dx + r * C;
#pragma omp simd
    for (int64_t k = 0; k < C; ++k)
      d[k] = a[k] * (g[k] - b[k] - (xr[k] - mean[k]) * istd[k] * c[k]);
  }
}

void dx_run(const float* dy, const float* x, int64_t n, float mean, float istd, float a, float b,
            float c, float* dx) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) dx[i] = a * (dy[i] - b - (x[i] - mean) * istd * c);
}

template <bool Scale, bool Center>
void layer_norm_row_as(const float* x, int64_t n, float hi, float lo, float rstd,
                       const float* gamma, const float* beta, float* y) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float v = ((x[i] - hi) - lo) * rstd;
    if (Scale) v *= gamma[i];
    if (Center) v += beta[i];
    y[i] = v;
  }
}

void layer_norm_row(const float* x, int64_t n, float hi, float lo, float rstd, const float* gamma,
                    const float* beta, float* y) {
  if (gamma && beta) return layer_norm_row_as<true, true>(x, n, hi, lo, rstd, gamma, beta, y);
  if (gamma) return layer_norm_row_as<true, false>(x, n, hi, lo, rstd, gamma, beta, y);
  if (beta) return layer_norm_row_as<false, true>(x, n, hi, lo, rstd, gamma, beta, y);
  layer_norm_row_as<false, false>(x, n, hi, lo, rstd, gamma, beta, y);
}

template <bool Scale>
void layer_norm_row_backward_as(const float* dy, const float* x, int64_t n, const float* gamma,
                                float mean, float rstd, float* dx, float* dgamma, float* dbeta) {
  float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
  for (int64_t i = 0; i < n; ++i) {
    const float g = Scale ? dy[i] * gamma[i] : dy[i];
    sg += g;
    sgx += g * ((x[i] - mean) * rstd);
  }
  const float inv = 1.0f / static_cast<float>(n), mg = sg * inv, mgx = sgx * inv;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float xhat = (x[i] - mean) * rstd;
    const float g = Scale ? dy[i] * gamma[i] : dy[i];
    dx[i] = rstd * (g - mg - xhat * mgx);
    dgamma[i] += dy[i] * xhat;
    dbeta[i] += dy[i];
  }
}

void layer_norm_row_backward(const float* dy, const float* x, int64_t n, const float* gamma,
                             float mean, float rstd, float* dx, float* dgamma, float* dbeta) {
  if (gamma)
    return layer_norm_row_backward_as<true>(dy, x, n, gamma, mean, rstd, dx, dgamma, dbeta);
  layer_norm_row_backward_as<false>(dy, x, n, gamma, mean, rstd, dx, dgamma, dbeta);
}

constexpr Kernels kKernels{moments_rows,   moments_run, affine_rows,    affine_run,
                           grad_sums_rows, grad_sums_run, dx_rows,      dx_run,
                           layer_norm_row, layer_norm_row_backward};

}  // namespace
}  // namespace shendu::norm
