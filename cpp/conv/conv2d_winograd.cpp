#include "conv/conv2d_winograd.h"

#include <algorithm>
#include <utility>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "common/scratch.h"
#include "conv/conv2d_winograd_kernels.h"

namespace shendu {

namespace winograd {
const Kernels& kernels_generic() { return kKernels; }
}  // namespace winograd

namespace {

// winograd_tile's transform costs per transformed value and channel, in units of one GEMM product,
// fitted to forward times of both tiles on layers where the transforms dominate and on layers
// where the GEMMs do (see bench/NOTES.md).
constexpr int64_t kTransformCost2 = 4;
constexpr int64_t kTransformCost4 = 12;
// F(4x4) chunks hold fewer tiles, so its GEMMs are short (under the 96 rows from which sgemm packs
// B) and read the ci x co filters in place: beyond 32 KiB of them (L1) they run slower than
// F(2x2)'s despite fewer products.
constexpr int64_t kMaxTile4Filters = 8192;

const winograd::Kernels& kernels() {
  return for_isa(winograd::kernels_generic, winograd::kernels_avx2, winograd::kernels_avx512);
}

}  // namespace

bool winograd_pays(const Conv2dShape& s) {
  if (s.h.kernel != 3 || s.w.kernel != 3 || s.h.stride != 1 || s.w.stride != 1) return false;
  // 16 products per tile and channel pair against 9 per output: require at most 60% of the direct
  // products, which the partial tiles of small odd outputs (3x3: 79%) miss.
  const int64_t tiles = (s.h.out + 1) / 2 * ((s.w.out + 1) / 2);
  return 16 * tiles * 5 <= 9 * s.h.out * s.w.out * 3;
}

int winograd_tile(const WinogradGeometry& g) {
  // Per tile: T * T GEMM products per channel pair, and transforms of T * T values per input and
  // output channel, each worth kTransformCost2 or kTransformCost4 products (see the constants).
  // Partial tiles at the bottom/right edges cost as whole ones.
  const auto cost = [&](int64_t m, int64_t transform) {
    const int64_t t = m + 2, tiles = (g.out_h + m - 1) / m * ((g.out_w + m - 1) / m);
    return tiles * t * t * (g.ci * g.co + transform * (g.ci + g.co));
  };
  if (g.ci * g.co > kMaxTile4Filters) return 2;
  return cost(4, kTransformCost4) < cost(2, kTransformCost2) ? 4 : 2;
}

WinogradGeometry winograd_geometry(const Conv2dShape& s) {
  WinogradGeometry g{s.h.in, s.w.in, s.c, s.h.out, s.w.out, s.f, s.h.pad, s.w.pad, 2};
  g.tile = winograd_tile(g);
  return g;
}

const float* winograd_filters(const Conv2dShape& s, const float* w, bool input_grad, int tile) {
  // Reused across calls like the workspaces: a fresh vector was zeroed before being overwritten.
  thread_local std::vector<float> storage, swapped;
  // The input gradient's are the forward's transform of w with its channel axes swapped: swapped
  // first (each tap's C x F matrix transposed), so that both read w in 16-channel vectors, not a
  // 16-float gather per vector.
  Conv2dShape fs = s;
  const float* fw = w;
  if (input_grad) {
    std::swap(fs.c, fs.f);
    float* t = line_aligned(swapped, 9 * s.c * s.f);
    for (int64_t k = 0; k < 9; ++k) transpose(w + k * s.c * s.f, s.c, s.f, t + k * s.c * s.f);
    fw = t;
  }
  const int64_t t = tile + 2;
  float* u = line_aligned(storage, t * t * winograd_plane(s.c, s.f));
  // Rows in parallel: 32 x 64 filters make 295 KB of F(4x4) positions to write.
  parallel_for(fs.c, 9 * t * t * (s.c + s.f), [&](int64_t i0, int64_t i1) {
    kernels().filters(fs, fw, tile, i0, i1, u);
  });
  return u;
}

bool winograd_conv(const WinogradGeometry& g, const float* in, const float* u, const float* b,
                   int64_t n0, int64_t n1, float* out) {
  return kernels().conv(g, in, u, b, n0, n1, out);
}

bool winograd_backward(const WinogradGeometry& g, const float* x, const float* dy, const float* u,
                       int64_t n0, int64_t n1, float* dx, float* dw, float* db) {
  // Unlike dx, dw needs no F(2x2) for non-finite inputs: neither tile keeps a NaN of x to the taps
  // whose windows reach it (both spread it over the taps of its channel), and dy's reaches all of
  // them anyway. It follows dx's tile all the same, sharing dy's transform.
  return kernels().backward(g, x, dy, u, n0, n1, dx, dw, db);
}

}  // namespace shendu
