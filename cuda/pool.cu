#include "launch.h"
#include "pool.h"

namespace shendu::cuda {

namespace {

// The real cells [lo, hi) of output position o's window along one axis.
struct Span {
  int64_t lo, hi;
};
__device__ __forceinline__ Span window_span(int64_t o, int64_t stride, int64_t pad, int64_t k,
                                            int64_t size) {
  const int64_t start = o * stride - pad;
  return {start < 0 ? 0 : start, start + k > size ? size : start + k};
}

// Output index -> (n, ho, wo, c); consecutive threads take consecutive channels (coalesced).
struct OutPos {
  int64_t n, ho, wo, c;
};
__device__ __forceinline__ OutPos out_pos(int64_t idx, const Window2d& g) {
  return {idx / (g.C * g.Wo * g.Ho), (idx / (g.C * g.Wo)) % g.Ho, (idx / g.C) % g.Wo, idx % g.C};
}


template <class Index>
__global__ void max_pool_forward_kernel(const float* x, Window2d g, float* y, Index* argmax,
                                        int64_t total) {
  SHENDU_GRID_STRIDE(idx, total) {
    const OutPos o = out_pos(idx, g);
    const int64_t top = o.ho * g.sh - g.pt, left = o.wo * g.sw - g.pl;
    const Span hs = window_span(o.ho, g.sh, g.pt, g.kh, g.H);
    const Span ws = window_span(o.wo, g.sw, g.pl, g.kw, g.W);
    const float* plane = x + o.n * g.H * g.W * g.C + o.c;
    float best = plane[(hs.lo * g.W + ws.lo) * g.C];
    int64_t best_at = (hs.lo - top) * g.kw + ws.lo - left;
    for (int64_t h = hs.lo; h < hs.hi; ++h)
      for (int64_t w = ws.lo; w < ws.hi; ++w) {
        const float v = plane[(h * g.W + w) * g.C];
        // Strictly greater keeps the first of equal values; a NaN replaces any non-NaN.
        if (v > best || (v != v && best == best)) {
          best = v;
          best_at = (h - top) * g.kw + w - left;
        }
      }
    y[idx] = best;
    argmax[idx] = static_cast<Index>(best_at);
  }
}

__global__ void avg_pool_forward_kernel(const float* x, Window2d g, float* y, int64_t total) {
  SHENDU_GRID_STRIDE(idx, total) {
    const OutPos o = out_pos(idx, g);
    const Span hs = window_span(o.ho, g.sh, g.pt, g.kh, g.H);
    const Span ws = window_span(o.wo, g.sw, g.pl, g.kw, g.W);
    const float* plane = x + o.n * g.H * g.W * g.C + o.c;
    float sum = 0.0f;
    for (int64_t h = hs.lo; h < hs.hi; ++h)
      for (int64_t w = ws.lo; w < ws.hi; ++w) sum += plane[(h * g.W + w) * g.C];
    y[idx] = sum / float((hs.hi - hs.lo) * (ws.hi - ws.lo));
  }
}

// Output rows whose window covers input row h: ho * stride - pad <= h < ho * stride - pad + k.
__device__ __forceinline__ Span covering_outputs(int64_t h, int64_t stride, int64_t pad, int64_t k,
                                                 int64_t out) {
  const int64_t first = h + pad - k + 1;  // smallest ho * stride allowed
  const int64_t lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t hi = (h + pad) / stride + 1;
  return {lo, hi > out ? out : hi};
}

template <class Index>
__global__ void max_pool_backward_kernel(const float* dy, const Index* argmax, Window2d g,
                                         float* dx, int64_t total) {
  SHENDU_GRID_STRIDE(idx, total) {
    const int64_t c = idx % g.C, w = (idx / g.C) % g.W, h = (idx / (g.C * g.W)) % g.H;
    const int64_t n = idx / (g.C * g.W * g.H);
    const Span hos = covering_outputs(h, g.sh, g.pt, g.kh, g.Ho);
    const Span wos = covering_outputs(w, g.sw, g.pl, g.kw, g.Wo);
    float sum = 0.0f;
    for (int64_t ho = hos.lo; ho < hos.hi; ++ho)
      for (int64_t wo = wos.lo; wo < wos.hi; ++wo) {
        const int64_t at = ((n * g.Ho + ho) * g.Wo + wo) * g.C + c;
        const int64_t tap = (h - (ho * g.sh - g.pt)) * g.kw + w - (wo * g.sw - g.pl);
        if (argmax[at] == tap) sum += dy[at];
      }
    dx[idx] = sum;
  }
}

__global__ void avg_pool_backward_kernel(const float* dy, Window2d g, float* dx, int64_t total) {
  SHENDU_GRID_STRIDE(idx, total) {
    const int64_t c = idx % g.C, w = (idx / g.C) % g.W, h = (idx / (g.C * g.W)) % g.H;
    const int64_t n = idx / (g.C * g.W * g.H);
    const Span hos = covering_outputs(h, g.sh, g.pt, g.kh, g.Ho);
    const Span wos = covering_outputs(w, g.sw, g.pl, g.kw, g.Wo);
    float sum = 0.0f;
    for (int64_t ho = hos.lo; ho < hos.hi; ++ho) {
      const Span hs = window_span(ho, g.sh, g.pt, g.kh, g.H);
      for (int64_t wo = wos.lo; wo < wos.hi; ++wo) {
        const Span ws = window_span(wo, g.sw, g.pl, g.kw, g.W);
        sum += dy[((n * g.Ho + ho) * g.Wo + wo) * g.C + c] /
               float((hs.hi - hs.lo) * (ws.hi - ws.lo));
      }
    }
    dx[idx] = sum;
  }
}

}  // namespace

template <class Index>
void max_pool_forward(const float* x, const Window2d& g, float* y, Index* argmax,
                      cudaStream_t stream) {
  const int64_t total = g.N * g.Ho * g.Wo * g.C;
  if (total == 0) return;
  max_pool_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(x, g, y, argmax, total);
  check_launch("max_pool_forward");
}

template <class Index>
void max_pool_backward(const float* dy, const Index* argmax, const Window2d& g, float* dx,
                       cudaStream_t stream) {
  const int64_t total = g.N * g.H * g.W * g.C;
  if (total == 0) return;
  max_pool_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dy, argmax, g, dx, total);
  check_launch("max_pool_backward");
}

template void max_pool_forward(const float*, const Window2d&, float*, uint8_t*, cudaStream_t);
template void max_pool_forward(const float*, const Window2d&, float*, uint16_t*, cudaStream_t);
template void max_pool_backward(const float*, const uint8_t*, const Window2d&, float*,
                                cudaStream_t);
template void max_pool_backward(const float*, const uint16_t*, const Window2d&, float*,
                                cudaStream_t);

void avg_pool_forward(const float* x, const Window2d& g, float* y, cudaStream_t stream) {
  const int64_t total = g.N * g.Ho * g.Wo * g.C;
  if (total == 0) return;
  avg_pool_forward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(x, g, y, total);
  check_launch("avg_pool_forward");
}

void avg_pool_backward(const float* dy, const Window2d& g, float* dx, cudaStream_t stream) {
  const int64_t total = g.N * g.H * g.W * g.C;
  if (total == 0) return;
  avg_pool_backward_kernel<<<grid_for(total, 256), 256, 0, stream>>>(dy, g, dx, total);
  check_launch("avg_pool_backward");
}

}  // namespace shendu::cuda
