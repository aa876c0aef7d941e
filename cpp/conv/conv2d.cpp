#include "conv/conv2d.h"

#include <atomic>
#include <cstring>
#include <vector>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "common/scratch.h"
#include "conv/conv2d_direct_kernels.h"
#include "conv/conv2d_winograd.h"
#include "gemm/gemm.h"

namespace shendu {

namespace direct {
const Kernels& kernels_generic() { return kKernels; }
}  // namespace direct

namespace {

// im2col workspace cap (floats). Chunks hold whole output lines (n, oh), so one line of Wo * K
// floats is the floor; 1 MiB keeps a chunk in L2 between im2col and the GEMM that reads it
// (a larger chunk spills to L3).
constexpr int64_t kWorkspaceFloats = int64_t{1} << 18;

// Per calling thread and reused across calls (scratch.h). Each slot is its own buffer: slot 1 for
// use beside slot 0, slot 2 for partials_buffer.
template <int Slot = 0>
float* workspace(int64_t floats) {
  thread_local std::vector<float> buffer;
  return line_aligned(buffer, floats);
}

// The backward's per-group dw/db partials, on the calling thread's slot-2 workspace (the groups
// fill theirs from the worker threads): a fresh vector would be zeroed on the calling thread
// before the parallel region.
float* partials_buffer(int64_t floats) { return workspace<2>(floats); }

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
  for (int64_t l = l0; l < l1; ++l) {
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
}

// d[0, n) = (add ? d : 0) + srcs[0][0, n) + ... + srcs[count - 1][0, n), summed in that order, in
// blocks of 16 floats held in vector registers (a float array here was kept on the stack: a
// load and a store per add).
void sum_runs(const float* const* srcs, int64_t count, int64_t n, bool add, float* d) {
  typedef float V __attribute__((vector_size(16)));
  constexpr int64_t kVectors = 4, kBlock = kVectors * 4;
  int64_t c0 = 0;
  for (; c0 + kBlock <= n; c0 += kBlock) {
    V acc[kVectors];
    for (int64_t j = 0; j < kVectors; ++j)
      if (add)
        std::memcpy(&acc[j], d + c0 + 4 * j, sizeof(V));
      else
        acc[j] = V{0.0f, 0.0f, 0.0f, 0.0f};
    for (int64_t t = 0; t < count; ++t)
      for (int64_t j = 0; j < kVectors; ++j) {
        V v;
        std::memcpy(&v, srcs[t] + c0 + 4 * j, sizeof(V));
        acc[j] += v;
      }
    for (int64_t j = 0; j < kVectors; ++j) std::memcpy(d + c0 + 4 * j, &acc[j], sizeof(V));
  }
  for (; c0 < n; ++c0) {
    float acc = add ? d[c0] : 0.0f;
    for (int64_t t = 0; t < count; ++t) acc += srcs[t][c0];
    d[c0] = acc;
  }
}

// col2im of dcol (the rows of output lines [l0, l1)) into dx, gathered: each dx cell sums its
// contributions in registers, 16 channels at a time, and is stored once (not scattered into dx,
// a read-modify-write per tap). With
// add, dx += the sum over these lines, for the lines of dx they touch: chunks that end mid-image
// add up across calls. Without, [l0, l1) is whole images and their dx is overwritten, zeros where
// no window reaches. Each cell adds its taps in the same order (kh, then kw) in every call, so the
// sums do not depend on the thread count.
void col2im(const Conv2dShape& s, const float* dcol, int64_t l0, int64_t l1, bool add, float* dx) {
  const int64_t C = s.c, KW = s.w.kernel, K = patch_size(s), Wo = s.w.out, Ho = s.h.out;
  const int64_t H = s.h.in, line_floats = s.w.in * C;
  const int64_t n0 = l0 / Ho, n1 = (l1 - 1) / Ho;
  const int64_t g0 = n0 * H + (add ? std::max<int64_t>(0, (l0 % Ho) * s.h.stride - s.h.pad) : 0);
  const int64_t g1 =
      n1 * H + (add ? std::min(H, ((l1 - 1) % Ho) * s.h.stride - s.h.pad + s.h.kernel) : H);
  std::vector<const float*> srcs(static_cast<size_t>(s.h.kernel * KW));
  for (int64_t g = g0; g < g1; ++g) {
    const int64_t n = g / H, ih = g % H;
    // Output lines covering ih, within [l0, l1), walked down so that kh = ih + pad - oh * stride
    // goes up.
    const Taps oh_range = outputs_covering(s.h, ih);
    const int64_t oh0 = std::max(oh_range.k0, l0 - n * Ho);
    const int64_t oh1 = std::min(oh_range.k1, l1 - n * Ho);
    float* dx_line = dx + g * line_floats;
    for (int64_t iw = 0; iw < s.w.in; ++iw) {
      const Taps ow_range = outputs_covering(s.w, iw);
      int64_t count = 0;
      for (int64_t oh = oh1 - 1; oh >= oh0; --oh) {
        const int64_t kh = ih + s.h.pad - oh * s.h.stride;
        const float* row = dcol + ((n * Ho + oh - l0) * Wo) * K + kh * KW * C;
        for (int64_t ow = ow_range.k1 - 1; ow >= ow_range.k0; --ow)
          srcs[count++] = row + ow * K + (iw + s.w.pad - ow * s.w.stride) * C;
      }
      sum_runs(srcs.data(), count, C, add, dx_line + iw * C);
    }
  }
}

// sums[f] += dy[r, f] for rows [r0, r1), each column summed in row order. Columns go in blocks of
// 16 through a local array the compiler keeps in registers (adding into sums directly stored and
// reloaded every element of every row: a store-forwarding chain per column), and rows in chunks
// that stay in L1 while their column blocks are summed.
void add_rows(const float* dy, int64_t r0, int64_t r1, int64_t F, float* sums) {
  constexpr int64_t kColumns = 16, kRows = 64;
  for (int64_t c0 = r0; c0 < r1; c0 += kRows) {
    const int64_t c1 = std::min(r1, c0 + kRows);
    for (int64_t f0 = 0; f0 < F; f0 += kColumns) {
      if (F - f0 < kColumns) {
        for (int64_t r = c0; r < c1; ++r) add_run(sums + f0, dy + r * F + f0, F - f0);
        continue;
      }
      float acc[kColumns];
      for (int64_t j = 0; j < kColumns; ++j) acc[j] = sums[f0 + j];
      for (int64_t r = c0; r < c1; ++r)
        for (int64_t j = 0; j < kColumns; ++j) acc[j] += dy[r * F + f0 + j];
      for (int64_t j = 0; j < kColumns; ++j) sums[f0 + j] = acc[j];
    }
  }
}

// Threads split the batch into a fixed number of groups of whole images, and each thread runs the
// whole chunk loop of its groups with single-threaded GEMMs inside one parallel region. One region
// per op instead of several per chunk (im2col, each GEMM's packing barriers, col2im) matters on
// busy cores: every barrier can wait a whole scheduler slice for a descheduled partner thread.
// The groups do not depend on the thread count, so neither do the results; whole images keep the
// dx lines that col2im writes apart between groups.
constexpr int64_t kGroups = 4;
// Backward keeps one dw/db partial per group: fewer groups for layers whose weights are large.
constexpr int64_t kPartialFloats = int64_t{1} << 21;

struct Group {
  int64_t l0, l1;  // output lines
};

Group group(const Conv2dShape& s, int64_t g, int64_t groups) {
  return {s.n * g / groups * s.h.out, s.n * (g + 1) / groups * s.h.out};
}

// The direct kernels take over whenever there are few input channels (see
// conv2d_direct_kernels.h), then Winograd for the 3x3 stride-1 layers it suits (conv2d_winograd.h),
// else im2col and sgemm.
bool use_direct(const Conv2dShape& s) { return s.c <= kDirectMaxChannels; }
bool use_winograd(const Conv2dShape& s) { return !use_direct(s) && winograd_pays(s); }

// Runs body(group) for groups [0, groups): in parallel with one group per call, or, for a single
// group, on the calling thread, where sgemm threads itself.
template <class Body>
void for_groups(const Conv2dShape& s, int64_t groups, Body&& body) {
  const int64_t flops_per_group = 2 * s.n / groups * s.h.out * s.w.out * patch_size(s) * s.f;
  parallel_for(groups, flops_per_group, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) body(g);
  });
}

int64_t lines_per_chunk(const Conv2dShape& s) {
  return std::max<int64_t>(1, kWorkspaceFloats / std::max<int64_t>(1, s.w.out * patch_size(s)));
}

// y for output lines [l0, l1), chunk by chunk through the calling thread's workspace.
void forward_lines(const Conv2dShape& s, const float* x, const float* w, const float* b,
                   int64_t l0, int64_t l1, float* y) {
  const int64_t K = patch_size(s), F = s.f, Wo = s.w.out, chunk = lines_per_chunk(s);
  float* col = workspace(std::min(chunk, l1 - l0) * Wo * K);
  for (int64_t c0 = l0; c0 < l1; c0 += chunk) {
    const int64_t c1 = std::min(l1, c0 + chunk), rows = (c1 - c0) * Wo;
    float* y_chunk = y + c0 * Wo * F;
    im2col(s, x, c0, c1, col);
    // y rows = b, so the GEMM adds the product on top (beta = 1) instead of a second pass.
    if (b)
      for (int64_t r = 0; r < rows; ++r) std::memcpy(y_chunk + r * F, b, sizeof(float) * F);
    sgemm(false, false, rows, F, K, 1.0f, col, K, w, F, b ? 1.0f : 0.0f, y_chunk, F);
  }
}

// For the whole images of output lines [l0, l1): dx (unless null), and this group's dw
// (overwritten; unless null, and then x is not read).
void backward_lines(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                    int64_t l0, int64_t l1, float* dx, float* dw) {
  const int64_t K = patch_size(s), F = s.f, Wo = s.w.out, chunk = lines_per_chunk(s);
  const int64_t image_floats = s.h.in * s.w.in * s.c;
  if (dx) zero_run(dx + l0 / s.h.out * image_floats, (l1 - l0) / s.h.out * image_floats);
  float* col = workspace(std::min(chunk, l1 - l0) * Wo * K);
  for (int64_t c0 = l0; c0 < l1; c0 += chunk) {
    const int64_t c1 = std::min(l1, c0 + chunk), rows = (c1 - c0) * Wo;
    const float* dy_chunk = dy + c0 * Wo * F;
    if (dw) {
      im2col(s, x, c0, c1, col);
      sgemm(true, false, K, F, rows, 1.0f, col, K, dy_chunk, F, c0 == l0 ? 0.0f : 1.0f, dw, F);
    }
    if (!dx) continue;
    // The columns are consumed; the same workspace now receives dy @ w^T.
    sgemm(false, true, rows, K, F, 1.0f, dy_chunk, F, w, F, 0.0f, col, K);
    col2im(s, col, c0, c1, true, dx);
  }
}

// Rows [k0, k1) of dw (k < K) and db (k == K) as the sum of the groups' partials in group order:
// row k of group g's partial lies at partials + g * part + k * ld.
void sum_partials(const float* partials, int64_t groups, int64_t part, int64_t ld, int64_t K,
                  int64_t F, int64_t k0, int64_t k1, float* dw, float* db) {
  std::vector<const float*> srcs(static_cast<size_t>(groups));
  for (int64_t k = k0; k < k1; ++k) {
    for (int64_t g = 0; g < groups; ++g) srcs[g] = partials + g * part + k * ld;
    sum_runs(srcs.data(), groups, F, false, k < K ? dw + k * F : db);
  }
}

// Layers whose whole-batch im2col fits the workspace cap: small enough that each group's products
// run on the whole group at once (no chunks), and the forward takes kSmallGroups groups, the
// backward backward_whole_batch.
bool whole_batch(const Conv2dShape& s) {
  return s.n * s.h.out * s.w.out * patch_size(s) <= kWorkspaceFloats;
}

// Twice kGroups: N32 5x5 C64->64's forward then multiplies blocks of 36 rows, which end in an
// 8-row tile, not 72-row ones ending in a 2-row tile, the least efficient shape of the
// micro-kernel.
constexpr int64_t kSmallGroups = 2 * kGroups;

// The backward of a whole_batch layer, in two parallel regions:
//   per group   im2col of its rows, its dw and db partials, dcol = dy @ w^T for its rows (w^T
//               transposed once before, read in place by sgemm, not packed per group), col2im
//               of those into dx; all on the thread's own workspaces;
//   per dw row  the group partials summed in group order, in vector registers (not serially on
//               the calling thread).
// (dw as one product over the whole batch's im2col avoids the partials and is faster on one
// thread, but slower on two: its A^T operand, read in place, comes half from the other core's
// cache.)
void backward_whole_batch(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                          float* dx, float* dw, float* db) {
  const int64_t K = patch_size(s), F = s.f, Wo = s.w.out, part = (K + 1) * F;
  const int64_t groups = std::min(kGroups, s.n);
  float* partials = partials_buffer(groups * part + (dx ? K * F : 0));
  float* wt = partials + groups * part;
  if (dx) transpose(w, K, F, wt);
  for_groups(s, groups, [&](int64_t g) {
    const Group gr = group(s, g, groups);
    const int64_t r0 = gr.l0 * Wo, r1 = gr.l1 * Wo;
    float* p = partials + g * part;
    zero_run(p + K * F, F);
    add_rows(dy, r0, r1, F, p + K * F);
    float* col = workspace((r1 - r0) * K);
    im2col(s, x, gr.l0, gr.l1, col);
    sgemm(true, false, K, F, r1 - r0, 1.0f, col, K, dy + r0 * F, F, 0.0f, p, F);
    if (!dx) return;
    float* dcol = workspace<1>((r1 - r0) * K);
    sgemm(false, false, r1 - r0, K, F, 1.0f, dy + r0 * F, F, wt, K, 0.0f, dcol, K);
    col2im(s, dcol, gr.l0, gr.l1, false, dx);
  });
  parallel_for(K + 1, groups * F, [&](int64_t k0, int64_t k1) {
    sum_partials(partials, groups, part, F, K, F, k0, k1, dw, db);
  });
}

const direct::Kernels& direct_kernels() {
  return for_isa(direct::kernels_generic, direct::kernels_avx2, direct::kernels_avx512);
}

// a (rows x F) copied into rows of Fp floats, zeros after F (a null a gives zeros).
std::vector<float> pad_filters(const float* a, int64_t rows, int64_t F) {
  const int64_t Fp = padded_filters(F);
  std::vector<float> out(static_cast<size_t>(rows * Fp), 0.0f);
  if (a)
    for (int64_t r = 0; r < rows; ++r) std::memcpy(out.data() + r * Fp, a + r * F, sizeof(float) * F);
  return out;
}

}  // namespace

// In 4 x 4 blocks through vector registers: element by element, every write of a filter matrix
// is to another cache line.
void transpose(const float* a, int64_t rows, int64_t cols, float* t) {
  typedef float V __attribute__((vector_size(16)));
  typedef int I __attribute__((vector_size(16)));
  int64_t r0 = 0;
  for (; r0 + 4 <= rows; r0 += 4) {
    int64_t c0 = 0;
    for (; c0 + 4 <= cols; c0 += 4) {
      V v[4];
      for (int i = 0; i < 4; ++i) std::memcpy(&v[i], a + (r0 + i) * cols + c0, sizeof(V));
      const V lo01 = __builtin_shuffle(v[0], v[1], I{0, 4, 1, 5});
      const V lo23 = __builtin_shuffle(v[2], v[3], I{0, 4, 1, 5});
      const V hi01 = __builtin_shuffle(v[0], v[1], I{2, 6, 3, 7});
      const V hi23 = __builtin_shuffle(v[2], v[3], I{2, 6, 3, 7});
      const V out[4] = {__builtin_shuffle(lo01, lo23, I{0, 1, 4, 5}),
                        __builtin_shuffle(lo01, lo23, I{2, 3, 6, 7}),
                        __builtin_shuffle(hi01, hi23, I{0, 1, 4, 5}),
                        __builtin_shuffle(hi01, hi23, I{2, 3, 6, 7})};
      for (int i = 0; i < 4; ++i) std::memcpy(t + (c0 + i) * rows + r0, &out[i], sizeof(V));
    }
    for (; c0 < cols; ++c0)
      for (int64_t r = r0; r < r0 + 4; ++r) t[c0 * rows + r] = a[r * cols + c0];
  }
  for (; r0 < rows; ++r0)
    for (int64_t c = 0; c < cols; ++c) t[c * rows + r0] = a[r0 * cols + c];
}

// Fixed blocks of rows summed in parallel, then the block sums added in order.
void column_sums(const float* a, int64_t rows, int64_t F, float* sums) {
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  std::vector<float> partial(static_cast<size_t>(blocks * F), 0.0f);
  parallel_for(blocks, kBlock * F, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk)
      add_rows(a, blk * kBlock, std::min(rows, (blk + 1) * kBlock), F, partial.data() + blk * F);
  });
  zero_run(sums, F);
  for (int64_t blk = 0; blk < blocks; ++blk) add_run(sums, partial.data() + blk * F, F);
}

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b,
                    float* y) {
  const int64_t K = patch_size(s), F = s.f, Wo = s.w.out, lines = s.n * s.h.out;
  if (lines * Wo * F == 0) return;
  if (K == 0) {  // no input channels: each output is an empty sum plus its bias
    parallel_for(lines * Wo, F, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        if (b)
          std::memcpy(y + r * F, b, sizeof(float) * F);
        else
          std::memset(y + r * F, 0, sizeof(float) * F);
    });
    return;
  }
  if (im2col_is_identity(s)) {
    const int64_t rows = lines * Wo;
    if (b)
      parallel_for(rows, F, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) std::memcpy(y + r * F, b, sizeof(float) * F);
      });
    sgemm(false, false, rows, F, K, 1.0f, x, K, w, F, b ? 1.0f : 0.0f, y, F);
    return;
  }
  const int64_t groups = std::min(kGroups, s.n);
  if (use_direct(s)) {
    const direct::Kernels& kernels = direct_kernels();
    const std::vector<float> wp = pad_filters(w, K, F), bp = pad_filters(b, 1, F);
    for_groups(s, groups, [&](int64_t g) {
      const Group gr = group(s, g, groups);
      kernels.forward(s, x, wp.data(), bp.data(), gr.l0, gr.l1, y);
    });
    return;
  }
  if (use_winograd(s)) {
    // An F(4x4) pass whose outputs hold a NaN or an infinity is redone under F(2x2)
    // (conv2d_winograd.h).
    // kSmallGroups: the forward's groups cost nothing of their own (a group's chunks of tiles are
    // the same either way), and smaller ones leave less to wait for when a worker thread is
    // descheduled mid-group on a busy machine.
    const int64_t winograd_groups = std::min(kSmallGroups, s.n);
    WinogradGeometry geometry = winograd_geometry(s);
    for (bool finite = false; !finite; geometry.tile = 2) {
      const float* u = winograd_filters(s, w, false, geometry.tile);
      std::atomic<bool> all{true};
      for_groups(s, winograd_groups, [&](int64_t g) {
        const Group gr = group(s, g, winograd_groups);
        if (!winograd_conv(geometry, x, u, b, gr.l0 / s.h.out, gr.l1 / s.h.out, y))
          all.store(false, std::memory_order_relaxed);
      });
      finite = all.load(std::memory_order_relaxed);
    }
    return;
  }
  const int64_t gemm_groups = whole_batch(s) ? std::min(kSmallGroups, s.n) : groups;
  for_groups(s, gemm_groups, [&](int64_t g) {
    const Group gr = group(s, g, gemm_groups);
    forward_lines(s, x, w, b, gr.l0, gr.l1, y);
  });
}

void conv2d_backward(const Conv2dShape& s, const float* dy, const float* x, const float* w,
                     float* dx, float* dw, float* db) {
  const int64_t K = patch_size(s), F = s.f, Wo = s.w.out, lines = s.n * s.h.out;
  const int64_t rows = lines * Wo;
  if (rows == 0 || F == 0) {  // no output: every gradient is zero
    zero_run(db, F);
    zero_run(dw, K * F);
    if (dx) zero_run(dx, s.n * s.h.in * s.w.in * s.c);
    return;
  }
  if (K == 0) {  // no input channels: dw and dx have no cells, db is still dy's sum
    column_sums(dy, rows, F, db);
    return;
  }
  if (im2col_is_identity(s)) {
    column_sums(dy, rows, F, db);
    sgemm(true, false, K, F, rows, 1.0f, x, K, dy, F, 0.0f, dw, F);
    if (dx) sgemm(false, true, rows, K, F, 1.0f, dy, F, w, F, 0.0f, dx, K);
    return;
  }
  if (!use_direct(s) && !use_winograd(s) && whole_batch(s)) {
    backward_whole_batch(s, dy, x, w, dx, dw, db);
    return;
  }
  // Each group sums its dw (rows of ld floats) and db (ld floats) into a partial; the partials are
  // added in group order after.
  const bool direct = use_direct(s);
  const int64_t ld = direct ? padded_filters(F) : F, part = (K + 1) * ld;
  const int64_t groups = std::min({kGroups, s.n, 1 + kPartialFloats / part});
  float* partials = partials_buffer(groups * part);
  // The direct kernels read dy with rows padded to whole vectors as well.
  std::vector<float> dy_padded(static_cast<size_t>(direct && ld != F ? rows * ld : 0));
  const float* dyp = dy_padded.empty() ? dy : dy_padded.data();
  const std::vector<float> wp = direct && dx ? pad_filters(w, K, F) : std::vector<float>();
  const bool winograd = use_winograd(s);
  WinogradGeometry geometry = winograd ? winograd_geometry(s) : WinogradGeometry{};
  // An F(4x4) pass that read a NaN or an infinity in dy is redone under F(2x2)
  // (conv2d_winograd.h); every other path finishes in one.
  for (bool finite = false; !finite; geometry.tile = 2) {
    const float* u = winograd && dx ? winograd_filters(s, w, true, geometry.tile) : nullptr;
    std::atomic<bool> all{true};
    for_groups(s, groups, [&](int64_t g) {
      const Group gr = group(s, g, groups);
      float* p = partials + g * part;
      float* db_part = p + K * ld;
      zero_run(db_part, ld);  // every path overwrites its dw partial but adds into its db
      if (!direct && !winograd) add_rows(dy, gr.l0 * Wo, gr.l1 * Wo, F, db_part);
      if (!dy_padded.empty())
        for (int64_t r = gr.l0 * Wo; r < gr.l1 * Wo; ++r)
          std::memcpy(dy_padded.data() + r * ld, dy + r * F, sizeof(float) * F);
      if (direct) {
        const direct::Kernels& kernels = direct_kernels();
        if (dx)
          kernels.backward_data(s, dyp, wp.data(), gr.l0 / s.h.out * s.h.in,
                                gr.l1 / s.h.out * s.h.in, dx);
        kernels.backward_filter(s, dyp, x, gr.l0, gr.l1, p, db_part);
      } else if (winograd) {
        if (!winograd_backward(geometry, x, dy, u, gr.l0 / s.h.out, gr.l1 / s.h.out, dx, p,
                               db_part))
          all.store(false, std::memory_order_relaxed);
      } else {
        backward_lines(s, dy, x, w, gr.l0, gr.l1, dx, p);
      }
    });
    finite = all.load(std::memory_order_relaxed);
  }
  // On the calling thread: a parallel region of its own for these few adds cost more on busy cores
  // (a descheduled worker holding a chunk) than it saved.
  sum_partials(partials, groups, part, ld, K, F, 0, K + 1, dw, db);
}

void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  const int64_t K = patch_size(s), F = s.f, rows = s.n * s.h.out * s.w.out;
  if (rows == 0 || F == 0) {
    zero_run(dx, s.n * s.h.in * s.w.in * s.c);
    return;
  }
  if (im2col_is_identity(s)) {
    sgemm(false, true, rows, K, F, 1.0f, dy, F, w, F, 0.0f, dx, K);
    return;
  }
  const int64_t groups = std::min(kGroups, s.n);
  if (use_direct(s)) {
    // The direct kernels read dy and w with rows padded to whole vectors.
    const int64_t Fp = padded_filters(F);
    const std::vector<float> dy_padded = Fp != F ? pad_filters(dy, rows, F) : std::vector<float>();
    const float* dyp = dy_padded.empty() ? dy : dy_padded.data();
    const std::vector<float> wp = pad_filters(w, K, F);
    const direct::Kernels& kernels = direct_kernels();
    for_groups(s, groups, [&](int64_t g) {
      const Group gr = group(s, g, groups);
      kernels.backward_data(s, dyp, wp.data(), gr.l0 / s.h.out * s.h.in, gr.l1 / s.h.out * s.h.in,
                            dx);
    });
    return;
  }
  // im2col's GEMM and col2im gather, also for the 3x3 stride-1 layers Winograd takes in
  // conv2d_backward (its backward pass computes dx and dw together).
  for_groups(s, groups, [&](int64_t g) {
    const Group gr = group(s, g, groups);
    backward_lines(s, dy, nullptr, w, gr.l0, gr.l1, dx, nullptr);
  });
}

}  // namespace shendu
