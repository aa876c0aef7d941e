#include "conv.h"
#include "launch.h"

namespace shendu::cuda {

namespace {

// One thread per cols element; consecutive threads take consecutive channels, so both the reads
// of x and the writes of cols are contiguous.
__global__ void im2col_kernel(const float* x, Window2d g, float* cols, int64_t total) {
  const int64_t row_len = g.kh * g.kw * g.C;
  SHENDU_GRID_STRIDE(idx, total) {
    const int64_t row = idx / row_len, col = idx % row_len;
    const int64_t c = col % g.C, j = (col / g.C) % g.kw, i = col / (g.C * g.kw);
    const int64_t wo = row % g.Wo, ho = (row / g.Wo) % g.Ho, n = row / (g.Wo * g.Ho);
    const int64_t h = ho * g.sh - g.pt + i, w = wo * g.sw - g.pl + j;
    cols[idx] = (h >= 0 && h < g.H && w >= 0 && w < g.W) ? x[((n * g.H + h) * g.W + w) * g.C + c]
                                                         : 0.0f;
  }
}

__global__ void col2im_kernel(const float* cols, Window2d g, float* dx, int64_t total) {
  const int64_t row_len = g.kh * g.kw * g.C;
  SHENDU_GRID_STRIDE(idx, total) {
    const int64_t c = idx % g.C, w = (idx / g.C) % g.W, h = (idx / (g.C * g.W)) % g.H;
    const int64_t n = idx / (g.C * g.W * g.H);
    float sum = 0.0f;
    // Window offset i reads row h when ho * sh = h + pt - i for an output row ho in [0, Ho).
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t th = h + g.pt - i;
      if (th < 0) break;  // only decreases with i
      if (th % g.sh != 0 || th / g.sh >= g.Ho) continue;
      const int64_t ho = th / g.sh;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t tw = w + g.pl - j;
        if (tw < 0) break;
        if (tw % g.sw != 0 || tw / g.sw >= g.Wo) continue;
        const int64_t wo = tw / g.sw;
        sum += cols[((n * g.Ho + ho) * g.Wo + wo) * row_len + (i * g.kw + j) * g.C + c];
      }
    }
    dx[idx] = sum;
  }
}

}  // namespace

void im2col(const float* x, const Window2d& g, float* cols, cudaStream_t stream) {
  const int64_t total = g.N * g.Ho * g.Wo * g.kh * g.kw * g.C;
  if (total == 0) return;
  im2col_kernel<<<grid_for(total, 256), 256, 0, stream>>>(x, g, cols, total);
  check_launch("im2col");
}

void col2im(const float* cols, const Window2d& g, float* dx, cudaStream_t stream) {
  const int64_t total = g.N * g.H * g.W * g.C;
  if (total == 0) return;
  col2im_kernel<<<grid_for(total, 256), 256, 0, stream>>>(cols, g, dx, total);
  check_launch("col2im");
}

}  // namespace shendu::cuda
