#include "rnn.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "parallel.h"

namespace shendu {
namespace {

// ---- vectorizable activations ------------------------------------------------------------------

// std::exp/std::tanh do not vectorize without -ffast-math; these are branch-free and do.

inline uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

inline float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// Selects with bit masks rather than ?: : under -ftrapping-math GCC does not if-convert a branch
// that guards floating-point work, and the gate loops would not vectorize.
inline uint32_t mask_if(bool c) { return 0u - static_cast<uint32_t>(c); }

inline float select(uint32_t mask, float a, float b) {
  return float_of((bits_of(a) & mask) | (bits_of(b) & ~mask));
}

// |x| clamped to 87 (e^-87 is still a normal float); NaN stays NaN.
inline float abs_clamped(float x) {
  constexpr uint32_t kLimit = 0x42AE0000u;  // 87.0f
  const uint32_t b = bits_of(x) & 0x7FFFFFFFu;
  return select(mask_if((b > kLimit) & (b <= 0x7F800000u)), float_of(kLimit), float_of(b));
}

// e^-a = scale * (1 + p) with a in [0, 87] (or NaN), split so that e^-a - 1 = scale * p +
// (scale - 1) is exact near 0 (tanh of small x needs it). Cephes expf: -a = n ln2 + r,
// |r| <= ln2/2, e^r - 1 = r + r^2 P(r); relative error ~1e-7.
struct ExpParts {
  float scale, p;
};

inline ExpParts exp_neg(float a) {
  // Adding 1.5 * 2^23 rounds to an integer and leaves it in the low mantissa bits, so n needs no
  // float -> int conversion (undefined for NaN).
  const float shifted = a * -1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  const float r = (-a - n * 0.693359375f) + n * 2.12194440e-4f;
  const float p =
      r + r * r *
              (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f);
  // bits(shifted) = 0x4B400000 + n; shifted left by 23 its high part falls off: 2^n remains.
  return {float_of((bits_of(shifted) + 127u) << 23), p};
}

inline float sigmoid(float x) {
  const ExpParts e = exp_neg(abs_clamped(x));
  const float ex = e.scale + e.scale * e.p;  // e^-|x|
  const float s = 1.0f / (1.0f + ex);
  return select(mask_if(bits_of(x) >> 31), ex * s, s);  // x < 0: e^x / (1 + e^x)
}

inline float tanh_fast(float x) {
  const ExpParts e = exp_neg(abs_clamped(2.0f * x));
  const float t = (1.0f - e.scale) - e.scale * e.p;  // 1 - e^-2|x|, exact near 0
  return float_of(bits_of(t / (2.0f - t)) | (bits_of(x) & 0x80000000u));
}

// ---- cells: one batch row of one step ------------------------------------------------------------
//
// forward(U, g, r, b, br, h_prev, aux_prev, aux, h):
//   g:  in: x_t @ kernel (G*U), out: activated gates (the cache);  r: h_prev @ recurrent (G*U);
//   b / br: input / recurrent bias (zeros when absent); aux_prev / aux: the previous / this
//   step's aux row (LSTM cell state); h: out, the new hidden state.
// backward(U, g, aux, aux_prev, h_prev, dh_out, dh, dc, dgx, dgr):
//   dh_out: dL/dh_t from the outputs; dh: in: dL/dh_t from later steps, out: the part of
//   dL/dh_{t-1} that does not pass through the recurrent kernel (the driver then adds
//   dgr @ recurrent^T); dc: LSTM's cell-state gradient, likewise carried; dgx: out, gradient of
//   the gate pre-activations as seen by the input projection (and the input bias); dgr: as seen by
//   the recurrent projection. Only GRU has kSplitGrad (r scales its recurrent candidate term);
//   the others write dgx alone and the driver uses it for both.

struct LstmCell {
  static constexpr RnnCell kCell = RnnCell::Lstm;
  static constexpr bool kSplitGrad = false;

  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/, const float* /*h_prev*/,
                      const float* __restrict__ c_prev, float* __restrict__ c,
                      float* __restrict__ h) {
    for (int64_t u = 0; u < U; ++u) {
      const float i = sigmoid(g[u] + r[u] + b[u]);
      const float f = sigmoid(g[U + u] + r[U + u] + b[U + u]);
      const float cc = tanh_fast(g[2 * U + u] + r[2 * U + u] + b[2 * U + u]);
      const float o = sigmoid(g[3 * U + u] + r[3 * U + u] + b[3 * U + u]);
      const float cn = f * c_prev[u] + i * cc;
      g[u] = i;
      g[U + u] = f;
      g[2 * U + u] = cc;
      g[3 * U + u] = o;
      c[u] = cn;
      h[u] = o * tanh_fast(cn);
    }
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* __restrict__ c,
                       const float* __restrict__ c_prev, const float* /*h_prev*/,
                       const float* __restrict__ dh_out, float* __restrict__ dh,
                       float* __restrict__ dc, float* __restrict__ dgx, float* /*dgr*/) {
    for (int64_t u = 0; u < U; ++u) {
      const float i = g[u], f = g[U + u], cc = g[2 * U + u], o = g[3 * U + u];
      const float d = dh_out[u] + dh[u];
      const float tc = tanh_fast(c[u]);
      const float dcn = dc[u] + d * o * (1.0f - tc * tc);
      dgx[u] = dcn * cc * i * (1.0f - i);
      dgx[U + u] = dcn * c_prev[u] * f * (1.0f - f);
      dgx[2 * U + u] = dcn * i * (1.0f - cc * cc);
      dgx[3 * U + u] = d * tc * o * (1.0f - o);
      dc[u] = dcn * f;
      dh[u] = 0.0f;  // h_{t-1} reaches h_t only through the recurrent kernel
    }
  }
};

struct GruCell {
  static constexpr RnnCell kCell = RnnCell::Gru;
  static constexpr bool kSplitGrad = true;

  // aux: the recurrent candidate term rh = (h_prev @ recurrent + br)_h, which r scales.
  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* __restrict__ br,
                      const float* __restrict__ h_prev, const float* /*aux_prev*/,
                      float* __restrict__ rh_out, float* __restrict__ h) {
    for (int64_t u = 0; u < U; ++u) {
      const float z = sigmoid(g[u] + b[u] + r[u] + br[u]);
      const float rr = sigmoid(g[U + u] + b[U + u] + r[U + u] + br[U + u]);
      const float rh = r[2 * U + u] + br[2 * U + u];
      const float hh = tanh_fast(g[2 * U + u] + b[2 * U + u] + rr * rh);
      g[u] = z;
      g[U + u] = rr;
      g[2 * U + u] = hh;
      rh_out[u] = rh;
      h[u] = z * h_prev[u] + (1.0f - z) * hh;
    }
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* __restrict__ rh,
                       const float* /*aux_prev*/, const float* __restrict__ h_prev,
                       const float* __restrict__ dh_out, float* __restrict__ dh,
                       float* /*dc*/, float* __restrict__ dgx, float* __restrict__ dgr) {
    for (int64_t u = 0; u < U; ++u) {
      const float z = g[u], rr = g[U + u], hh = g[2 * U + u];
      const float d = dh_out[u] + dh[u];
      const float dz = d * (h_prev[u] - hh) * z * (1.0f - z);
      const float dhh = d * (1.0f - z) * (1.0f - hh * hh);
      const float dr = dhh * rh[u] * rr * (1.0f - rr);
      dgx[u] = dz;
      dgx[U + u] = dr;
      dgx[2 * U + u] = dhh;
      dgr[u] = dz;
      dgr[U + u] = dr;
      dgr[2 * U + u] = dhh * rr;
      dh[u] = d * z;
    }
  }
};

struct SimpleCell {
  static constexpr RnnCell kCell = RnnCell::Simple;
  static constexpr bool kSplitGrad = false;

  // g is this step's row of hs itself (SimpleRNN's gate activation is h), so it is updated in
  // place and h is not written separately.
  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/, const float* /*h_prev*/,
                      const float* /*aux_prev*/, float* /*aux*/, float* /*h*/) {
    for (int64_t u = 0; u < U; ++u) g[u] = tanh_fast(g[u] + r[u] + b[u]);
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* /*aux*/,
                       const float* /*aux_prev*/, const float* /*h_prev*/,
                       const float* __restrict__ dh_out, float* __restrict__ dh, float* /*dc*/,
                       float* __restrict__ dgx, float* /*dgr*/) {
    for (int64_t u = 0; u < U; ++u) {
      dgx[u] = (dh_out[u] + dh[u]) * (1.0f - g[u] * g[u]);
      dh[u] = 0.0f;
    }
  }
};

// Rough flops per gate element of the fused kernels (exp polynomials included), for threading.
constexpr int64_t kGateWork = 30;

// Row n, step t of an (N, T, width) sequence, or row n of the (N, width) initial state when t < 0.
// Null stays null (SimpleRNN has no aux).
struct Sequence {
  const float* seq;
  const float* init;
  int64_t T, width;
  const float* row(int64_t n, int64_t t) const {
    if (!seq) return nullptr;
    return t < 0 ? init + n * width : seq + (n * T + t) * width;
  }
  // Base pointer and row stride of step t across the batch (a GEMM operand).
  const float* step(int64_t t) const { return t < 0 ? init : seq + t * width; }
  int64_t stride(int64_t t) const { return t < 0 ? width : T * width; }
};

void column_sums(const float* a, int64_t rows, int64_t cols, float* out) {
  // Split by columns and sum rows in order, so the result does not depend on the thread count.
  parallel_for(cols, rows, [&](int64_t c0, int64_t c1) {
    std::fill(out + c0, out + c1, 0.0f);
    for (int64_t i = 0; i < rows; ++i) {
      const float* row = a + i * cols;
      for (int64_t c = c0; c < c1; ++c) out[c] += row[c];
    }
  });
}

void copy_or_zero(const float* src, int64_t count, float* dst) {
  if (src)
    std::copy(src, src + count, dst);
  else
    std::fill(dst, dst + count, 0.0f);
}

template <class Cell>
void forward(const RnnShape& s, const RnnForwardArgs& a) {
  constexpr bool kAux = rnn_has_aux(Cell::kCell);
  const int64_t N = s.N, T = s.T, U = s.U, GU = rnn_gate_count(Cell::kCell) * U;
  float* const gates = kAux ? a.gates : a.hs;
  const std::vector<float> zeros(std::max(N * U, GU), 0.0f);
  const float* b = a.bias ? a.bias : zeros.data();
  const float* br = a.bias_rec ? a.bias_rec : zeros.data();
  const Sequence hs{a.hs, a.h0 ? a.h0 : zeros.data(), T, U};
  const Sequence aux{a.aux, a.c0 ? a.c0 : zeros.data(), T, U};

  // The input projections of all steps in one GEMM; each step adds its recurrent part.
  sgemm(false, false, N * T, GU, s.I, 1.0f, a.x, s.I, a.kernel, GU, 0.0f, gates, GU);
  std::vector<float> rec(N * GU);
  for (int64_t t = 0; t < T; ++t) {
    sgemm(false, false, N, GU, U, 1.0f, hs.step(t - 1), hs.stride(t - 1), a.recurrent, GU, 0.0f,
          rec.data(), GU);
    parallel_for(N, GU * kGateWork, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        Cell::forward(U, gates + (n * T + t) * GU, rec.data() + n * GU, b, br, hs.row(n, t - 1),
                      aux.row(n, t - 1), kAux ? a.aux + (n * T + t) * U : nullptr,
                      a.hs + (n * T + t) * U);
    });
  }
  for (int64_t n = 0; n < N; ++n) {
    std::copy_n(hs.row(n, T - 1), U, a.h_T + n * U);
    if (a.c_T) std::copy_n(aux.row(n, T - 1), U, a.c_T + n * U);
  }
}

template <class Cell>
void backward(const RnnShape& s, const RnnBackwardArgs& a) {
  const int64_t N = s.N, T = s.T, I = s.I, U = s.U, GU = rnn_gate_count(Cell::kCell) * U;
  const float* const gates = rnn_has_aux(Cell::kCell) ? a.gates : a.hs;
  const std::vector<float> zeros(N * U, 0.0f);
  const Sequence hs{a.hs, a.h0 ? a.h0 : zeros.data(), T, U};
  const Sequence aux{a.aux, a.c0 ? a.c0 : zeros.data(), T, U};

  std::vector<float> dgx(N * T * GU);
  std::vector<float> dgr_split(Cell::kSplitGrad ? N * T * GU : 0);
  float* const dgr = Cell::kSplitGrad ? dgr_split.data() : dgx.data();
  // dh0 and dc0 carry the state gradients backwards through the steps.
  copy_or_zero(a.dh_T, N * U, a.dh0);
  if (a.dc0) copy_or_zero(a.dc_T, N * U, a.dc0);
  for (int64_t t = T - 1; t >= 0; --t) {
    parallel_for(N, GU * kGateWork, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n) {
        const int64_t row = n * T + t;
        Cell::backward(U, gates + row * GU, aux.row(n, t), aux.row(n, t - 1), hs.row(n, t - 1),
                       a.dhs + row * U, a.dh0 + n * U, a.dc0 ? a.dc0 + n * U : nullptr,
                       dgx.data() + row * GU, dgr + row * GU);
      }
    });
    sgemm(false, true, N, U, GU, 1.0f, dgr + t * GU, T * GU, a.recurrent, GU, 1.0f, a.dh0, U);
  }

  // Every weight gradient as one GEMM over all N * T rows.
  sgemm(true, false, I, GU, N * T, 1.0f, a.x, I, dgx.data(), GU, 0.0f, a.dkernel, GU);
  sgemm(false, true, N * T, I, GU, 1.0f, dgx.data(), GU, a.kernel, GU, 0.0f, a.dx, I);
  std::vector<float> h_prev(N * T * U);  // h_{t-1} for every step, lined up with dgr
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) std::copy_n(hs.row(n, t - 1), U, &h_prev[(n * T + t) * U]);
  sgemm(true, false, U, GU, N * T, 1.0f, h_prev.data(), U, dgr, GU, 0.0f, a.drecurrent, GU);
  column_sums(dgx.data(), N * T, GU, a.dbias);
  if (Cell::kSplitGrad) column_sums(dgr, N * T, GU, a.dbias + GU);
}

}  // namespace

void rnn_forward(RnnCell cell, const RnnShape& shape, const RnnForwardArgs& args) {
  switch (cell) {
    case RnnCell::Lstm: return forward<LstmCell>(shape, args);
    case RnnCell::Gru: return forward<GruCell>(shape, args);
    case RnnCell::Simple: return forward<SimpleCell>(shape, args);
  }
}

void rnn_backward(RnnCell cell, const RnnShape& shape, const RnnBackwardArgs& args) {
  switch (cell) {
    case RnnCell::Lstm: return backward<LstmCell>(shape, args);
    case RnnCell::Gru: return backward<GruCell>(shape, args);
    case RnnCell::Simple: return backward<SimpleCell>(shape, args);
  }
}

}  // namespace shendu
