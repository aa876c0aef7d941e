#include "conv2d.h"

#include <cstring>
#include <vector>

#include "gemm.h"
#include "parallel.h"

namespace shendu {
namespace {

// im2col workspace cap (floats). Chunks hold whole output lines (n, oh), so one line of Wo * K
// floats is the floor; 1 MiB keeps a chunk in L2 between im2col and the GEMM that reads it
// (4 MiB, spilling to L3, made the 13x13x32 layer's im2col 1.7x slower).
constexpr int64_t kWorkspaceFloats = int64_t{1} << 18;

// Per calling thread and reused across calls: faulting in fresh pages for every call costs more
// than the small convolutions themselves.
float* workspace(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

int64_t patch_size(const Conv2dShape& s) { return s.h.kernel * s.w.kernel * s.c; }

// True when the im2col matrix is x itself: 1x1 stride-1 kernels, or a kernel covering the whole
// unpadded input (one output cell per image).
bool im2col_is_identity(const Conv2dShape& s) {
  if (s.h.pad != 0 || s.w.pad != 0) return false;
  const bool pointwise = s.h.kernel == 1 && s.w.kernel == 1 && s.h.stride == 1 && s.w.stride == 1;
  const bool whole = s.h.kernel == s.h.in && s.w.kernel == s.w.in;
  return pointwise || whole;
}

// Short runs (C = 1 or 3 input channels) dominate first layers; a library memcpy call per run of
// a few floats costs more than the copy, so those go through a plain loop.
constexpr int64_t kShortRun = 16;

inline void copy_run(float* dst, const float* src, int64_t n) {
  if (n >= kShortRun) {
    std::memcpy(dst, src, sizeof(float) * n);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

inline void zero_run(float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = 0.0f;
}

inline void add_run(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// Rows of the im2col matrix for output lines [l0, l1) (line = n * Ho + oh): row (line, ow) holds
// the window of x at that output cell in (kh, kw, c) order, zeros where it covers padding. In NHWC
// the taps of one kernel row are one contiguous run of x, so each (row, kh) is a single copy; the
// columns whose windows lie wholly inside x (all but a few at the borders) need no tap checks.
void im2col(const Conv2dShape& s, const float* x, int64_t l0, int64_t l1, float* col) {
  const int64_t C = s.c, KW = s.w.kernel, K = patch_size(s), Wo = s.w.out;
  const int64_t row_run = KW * C, x_line = s.w.in * C;
  const int64_t full0 = outputs_of_tap(s.w, 0).k0;
  const int64_t full1 = std::max(full0, outputs_of_tap(s.w, KW - 1).k1);
  parallel_for(l1 - l0, Wo * K, [&](int64_t b, int64_t e) {
    for (int64_t l = l0 + b; l < l0 + e; ++l) {
      const int64_t n = l / s.h.out, oh = l % s.h.out;
      const Taps th = taps(s.h, oh);
      float* dst_line = col + (l - l0) * Wo * K;
      for (int64_t kh = 0; kh < s.h.kernel; ++kh) {
        float* d = dst_line + kh * row_run;
        if (kh < th.k0 || kh >= th.k1) {  // the kernel row lies in the top/bottom padding
          for (int64_t ow = 0; ow < Wo; ++ow) zero_run(d + ow * K, row_run);
          continue;
        }
        const float* src = x + (n * s.h.in + oh * s.h.stride - s.h.pad + kh) * x_line;
        const auto border = [&](int64_t ow) {
          const Taps tw = taps(s.w, ow);
          const int64_t before = tw.k0 * C, run = (tw.k1 - tw.k0) * C;
          float* dr = d + ow * K;
          zero_run(dr, before);
          copy_run(dr + before, src + (ow * s.w.stride - s.w.pad + tw.k0) * C, run);
          zero_run(dr + before + run, row_run - before - run);
        };
        for (int64_t ow = 0; ow < std::min(full0, Wo); ++ow) border(ow);
        for (int64_t ow = full0; ow < full1; ++ow)
          copy_run(d + ow * K, src + (ow * s.w.stride - s.w.pad) * C, row_run);
        for (int64_t ow = full1; ow < Wo; ++ow) border(ow);
      }
    }
  });
}

// dx += col2im(dcol) for output lines [l0, l1): every dx line (n, ih) those lines touch gathers
// its contributions in a fixed order (kh, kw, ow), so threads never share a dx line and the sums
// do not depend on the thread count. Tap-major order keeps consecutive adds on distinct cells:
// cell-major order would re-read a cell the previous add just stored, partially overlapping when
// C is small, which stalls store forwarding.
void col2im_add(const Conv2dShape& s, const float* dcol, int64_t l0, int64_t l1, float* dx) {
  const int64_t C = s.c, KW = s.w.kernel, K = patch_size(s), Wo = s.w.out, Ho = s.h.out;
  const int64_t H = s.h.in, line_floats = s.w.in * C;
  const int64_t n0 = l0 / Ho, n1 = (l1 - 1) / Ho;
  const int64_t g0 = n0 * H + std::max<int64_t>(0, (l0 % Ho) * s.h.stride - s.h.pad);
  const int64_t g1 = n1 * H + std::min(H, ((l1 - 1) % Ho) * s.h.stride - s.h.pad + s.h.kernel);
  std::vector<Taps> ow_range(static_cast<size_t>(KW));
  for (int64_t kw = 0; kw < KW; ++kw) ow_range[kw] = outputs_of_tap(s.w, kw);
  parallel_for(g1 - g0, (s.h.kernel + s.h.stride - 1) / s.h.stride * Wo * K,
               [&](int64_t b, int64_t e) {
    for (int64_t g = g0 + b; g < g0 + e; ++g) {
      const int64_t n = g / H, ih = g % H;
      float* dx_line = dx + g * line_floats;
      for (int64_t kh = 0; kh < s.h.kernel; ++kh) {
        const int64_t t = ih + s.h.pad - kh;
        if (t < 0 || t % s.h.stride != 0 || t / s.h.stride >= Ho) continue;
        const int64_t l = n * Ho + t / s.h.stride;
        if (l < l0 || l >= l1) continue;
        const float* src_line = dcol + (l - l0) * Wo * K + kh * KW * C;
        for (int64_t kw = 0; kw < KW; ++kw) {
          const Taps o = ow_range[kw];
          float* d = dx_line + (o.k0 * s.w.stride - s.w.pad + kw) * C;
          const float* src = src_line + o.k0 * K + kw * C;
          for (int64_t ow = o.k0; ow < o.k1; ++ow, d += s.w.stride * C, src += K)
            add_run(d, src, C);
        }
      }
    }
  });
}

// y rows = b, so the GEMM adds the product on top (beta = 1) instead of a second pass for bias.
void fill_bias(float* y, int64_t rows, int64_t F, const float* b) {
  parallel_for(rows, F, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) std::memcpy(y + r * F, b, sizeof(float) * F);
  });
}

// db[f] = sum over rows of dy[r, f]: fixed blocks of rows summed in parallel, then the block sums
// added in order, so the result does not depend on the thread count.
void column_sums(const float* dy, int64_t rows, int64_t F, float* db) {
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  std::vector<float> partial(static_cast<size_t>(blocks * F), 0.0f);
  parallel_for(blocks, kBlock * F, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      float* p = partial.data() + blk * F;
      const int64_t r1 = std::min(rows, (blk + 1) * kBlock);
      for (int64_t r = blk * kBlock; r < r1; ++r) add_run(p, dy + r * F, F);
    }
  });
  zero_run(db, F);
  for (int64_t blk = 0; blk < blocks; ++blk) add_run(db, partial.data() + blk * F, F);
}

int64_t lines_per_chunk(const Conv2dShape& s) {
  return std::max<int64_t>(1, kWorkspaceFloats / std::max<int64_t>(1, s.w.out * patch_size(s)));
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                    float* y) {
  const int64_t K = patch_size(s), F = s.f, Wo = s.w.out, lines = s.n * s.h.out;
  const float beta = b ? 1.0f : 0.0f;
  if (lines * Wo * F == 0) return;
  if (im2col_is_identity(s)) {
    if (b) fill_bias(y, lines * Wo, F, b);
    sgemm(false, false, lines * Wo, F, K, 1.0f, x, K, w, F, beta, y, F);
    return;
  }
  const int64_t chunk = lines_per_chunk(s);
  float* col = workspace(std::min(chunk, lines) * Wo * K);
  for (int64_t l0 = 0; l0 < lines; l0 += chunk) {
    const int64_t l1 = std::min(lines, l0 + chunk), rows = (l1 - l0) * Wo;
    float* y_chunk = y + l0 * Wo * F;
    im2col(s, x, l0, l1, col);
    if (b) fill_bias(y_chunk, rows, F, b);
    sgemm(false, false, rows, F, K, 1.0f, col, K, w, F, beta, y_chunk, F);
  }
}

void conv2d_backward(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db) {
  const int64_t K = patch_size(s), F = s.f, Wo = s.w.out, lines = s.n * s.h.out;
  const int64_t rows = lines * Wo;
  column_sums(dy, rows, F, db);
  if (rows == 0 || F == 0) {  // no output: every gradient is zero
    zero_run(dw, K * F);
    zero_run(dx, s.n * s.h.in * s.w.in * s.c);
    return;
  }
  if (im2col_is_identity(s)) {
    sgemm(true, false, K, F, rows, 1.0f, x, K, dy, F, 0.0f, dw, F);
    sgemm(false, true, rows, K, F, 1.0f, dy, F, w, F, 0.0f, dx, K);
    return;
  }
  const int64_t dx_floats = s.n * s.h.in * s.w.in * s.c;
  parallel_for(dx_floats, 1, [&](int64_t i0, int64_t i1) { zero_run(dx + i0, i1 - i0); });
  const int64_t chunk = lines_per_chunk(s);
  float* col = workspace(std::min(chunk, lines) * Wo * K);
  for (int64_t l0 = 0; l0 < lines; l0 += chunk) {
    const int64_t l1 = std::min(lines, l0 + chunk), chunk_rows = (l1 - l0) * Wo;
    const float* dy_chunk = dy + l0 * Wo * F;
    im2col(s, x, l0, l1, col);
    sgemm(true, false, K, F, chunk_rows, 1.0f, col, K, dy_chunk, F, l0 == 0 ? 0.0f : 1.0f, dw, F);
    // The columns are consumed; the same workspace now receives dy @ w^T.
    sgemm(false, true, chunk_rows, K, F, 1.0f, dy_chunk, F, w, F, 0.0f, col, K);
    col2im_add(s, col, l0, l1, dx);
  }
}

}  // namespace shendu
