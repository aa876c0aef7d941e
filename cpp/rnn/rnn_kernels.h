// The per-step gate kernels of the recurrent family, compiled once per instruction set:
// rnn.cpp (portable), rnn_avx2.cpp and rnn_avx512.cpp each include this file and export the
// table of its kernels; rnn.cpp's driver picks one at run time (for_isa, common/cpu_features.h).
//
// Everything with code lives in an unnamed namespace: each including file gets its own copy,
// compiled with its own ISA flags, and the linker can never swap one for another.
#pragma once
#include <algorithm>
#include <cstdint>

#include "common/vec_math.h"
#include "rnn/rnn.h"

namespace shendu::rnn {

// A cell activation over a contiguous run of one row, compiled per ISA like the cells: apply
// replaces x by f(x); scale_by_slope multiplies d by f'(x), computed from y = f(x). Picked once per
// call from Kernels::activations (indexed by RnnActivation), so the loops stay vectorized.
struct Activation {
  void (*apply)(float* x, int64_t n);
  void (*scale_by_slope)(const float* y, float* d, int64_t n);
};

// Rows of a batch at one step: row n at p + n * ld. p is null for an array the cell lacks.
template <class F>
struct Rows {
  F* p;
  int64_t ld;
};

// One step's operands (see the cells below for their meaning).
struct ForwardStep {
  int64_t U;
  Rows<float> g;
  Rows<const float> r, h_prev, aux_prev;
  Rows<float> aux, h;
  const float* b;
  const float* br;
  Rows<const float> mask;  // one float per row (null: no step is masked)
  Activation act, rec;     // the candidate's and the gates' activations
};

struct BackwardStep {
  int64_t U;
  Rows<const float> g, aux, aux_prev, h_prev, dh_out;
  Rows<float> dh, dc, dgx, dgr;
  Rows<const float> daux;  // GruResetBefore: dL/d(r * h_prev), between its two stages
  Rows<const float> mask;
  Activation act, rec;
};

using ForwardRows = void (*)(const ForwardStep& step, int64_t n0, int64_t n1);
using BackwardRows = void (*)(const BackwardStep& step, int64_t n0, int64_t n1);

// Whether the gate gradients seen by the recurrent projection differ from those seen by the
// input projection (GRU reset_after=True: r scales its recurrent candidate term), so need their
// own array.
constexpr bool split_recurrent_grad(RnnCell cell) { return cell == RnnCell::Gru; }

// Indexed by RnnCell; the staged cell's second stage (rnn_staged) has its own entries.
static_assert(static_cast<int>(RnnCell::Lstm) == 0 && static_cast<int>(RnnCell::Gru) == 1 &&
              static_cast<int>(RnnCell::Simple) == 2 &&
              static_cast<int>(RnnCell::GruResetBefore) == 3);
static_assert(static_cast<int>(RnnActivation::Tanh) == 0 &&
              static_cast<int>(RnnActivation::Sigmoid) == 1 &&
              static_cast<int>(RnnActivation::Relu) == 2 &&
              static_cast<int>(RnnActivation::HardSigmoid) == 3 &&
              static_cast<int>(RnnActivation::Linear) == 4 && kRnnActivationCount == 5);
struct Kernels {
  ForwardRows forward[4];
  BackwardRows backward[4];
  ForwardRows candidate_forward;    // GruResetBefore, after the candidate's recurrent product
  BackwardRows candidate_backward;  // GruResetBefore, before that product's backward GEMM
  Activation activations[kRnnActivationCount];
};

const Kernels& kernels_generic();
const Kernels& kernels_avx2();    // rnn_avx2.cpp (AVX2 + FMA)
const Kernels& kernels_avx512();  // rnn_avx512.cpp (AVX-512)

namespace {

// ---- activations: f(x) and f'(x) from y = f(x) ---------------------------------------------------

// The gates' sigmoid as 1 / (1 + e^-x): e^-x saturates at e^88.37, so nothing overflows, and
// a large negative x still gets e^x to full relative accuracy (1 + e^-x is e^-x then). Fewer
// operations than vec_math::sigmoid's split by the sign of x (the gate kernels are bound by
// arithmetic).
struct Sigmoid {
  static float f(float x) { return 1.0f / (1.0f + vec_math::exp(-x)); }
  static float slope(float y) { return y * (1.0f - y); }
};

struct Tanh {
  static float f(float x) { return vec_math::tanh(x); }
  static float slope(float y) { return 1.0f - y * y; }
};

// Masks instead of ?: wherever a branch would guard float work (see vec_math::select); the
// comparisons are written so that NaN passes through f.
struct Relu {
  static float f(float x) { return x < 0.0f ? 0.0f : x; }
  static float slope(float y) { return vec_math::select(vec_math::mask_if(y > 0.0f), 1.0f, 0.0f); }
};

// Keras 3: relu6(x + 3) / 6. Its slope is 1/6 on the open interval, as TF's Relu6Grad.
struct HardSigmoid {
  static float f(float x) {
    const float r = x + 3.0f < 0.0f ? 0.0f : x + 3.0f;
    return (r > 6.0f ? 6.0f : r) / 6.0f;
  }
  static float slope(float y) {
    return vec_math::select(vec_math::mask_if((y > 0.0f) & (y < 1.0f)), 1.0f / 6.0f, 0.0f);
  }
};

struct Linear {
  static float f(float x) { return x; }
  static float slope(float /*y*/) { return 1.0f; }
};

template <class A>
void apply(float* __restrict__ x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = A::f(x[i]);
}

template <class A>
void scale_by_slope(const float* __restrict__ y, float* __restrict__ d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] *= A::slope(y[i]);
}

template <class A>
constexpr Activation activation_of() {
  return {apply<A>, scale_by_slope<A>};
}

// ---- cells: one batch row of one step ------------------------------------------------------------
//
// forward(U, g, r, b, br, h_prev, aux_prev, aux, h, act, rec):
//   g:  in: x_t @ kernel (G*U), out: activated gates (the cache);  r: h_prev @ recurrent (G*U);
//   b / br: input / recurrent bias (zeros when absent); aux_prev / aux: the previous / this
//   step's aux row (LSTM cell state); h: out, the new hidden state; act / rec: the candidate's /
//   the gates' activation.
// backward(U, g, aux, aux_prev, h_prev, dh_out, dh, dc, dgx, dgr, daux, act, rec):
//   dh_out: dL/dh_t from the outputs; dh: in: dL/dh_t from later steps, out: the part of
//   dL/dh_{t-1} that does not pass through the recurrent kernel (the driver then adds
//   dgr @ recurrent^T); dc: LSTM's cell-state gradient, likewise carried; dgx: out, gradient of
//   the gate pre-activations as seen by the input projection (and the input bias); dgr: as seen by
//   the recurrent projection. They differ only for GRU reset_after=True (r scales its recurrent
//   candidate term; see split_recurrent_grad); the others write dgx alone and dgr is the same
//   array.
//
// The activations run over whole gate blocks between the cells' own loops: first the gradient
// w.r.t. each activated gate, then one scale_by_slope per block.

struct LstmCell {
  static constexpr RnnCell kCell = RnnCell::Lstm;
  static constexpr bool kAuxIsState = true;

  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/, const float* /*h_prev*/,
                      const float* __restrict__ c_prev, float* __restrict__ c,
                      float* __restrict__ h, const Activation& act, const Activation& rec) {
    for (int64_t u = 0; u < 4 * U; ++u) g[u] = g[u] + r[u] + b[u];
    rec.apply(g, 2 * U);  // i, f
    act.apply(g + 2 * U, U);
    rec.apply(g + 3 * U, U);  // o
    for (int64_t u = 0; u < U; ++u) {
      c[u] = g[U + u] * c_prev[u] + g[u] * g[2 * U + u];
      h[u] = c[u];
    }
    act.apply(h, U);
    for (int64_t u = 0; u < U; ++u) h[u] *= g[3 * U + u];
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* __restrict__ c,
                       const float* __restrict__ c_prev, const float* /*h_prev*/,
                       const float* __restrict__ dh_out, float* __restrict__ dh,
                       float* __restrict__ dc, float* dgx, float* /*dgr*/,
                       const float* /*daux*/, const Activation& act, const Activation& rec) {
    // act(c) in the o block and dL/d act(c) in the c block until the main loop replaces them.
    float* const tc = dgx + 3 * U;
    float* const dtc = dgx + 2 * U;
    for (int64_t u = 0; u < U; ++u) {
      tc[u] = c[u];
      dtc[u] = (dh_out[u] + dh[u]) * g[3 * U + u];
    }
    act.apply(tc, U);
    act.scale_by_slope(tc, dtc, U);
    for (int64_t u = 0; u < U; ++u) {
      const float i = g[u], f = g[U + u], cc = g[2 * U + u];
      const float d = dh_out[u] + dh[u];
      const float dcn = dc[u] + dtc[u];
      dgx[u] = dcn * cc;
      dgx[U + u] = dcn * c_prev[u];
      dgx[2 * U + u] = dcn * i;
      dgx[3 * U + u] = d * tc[u];
      dc[u] = dcn * f;
      dh[u] = 0.0f;  // h_{t-1} reaches h_t only through the recurrent kernel
    }
    rec.scale_by_slope(g, dgx, 2 * U);
    act.scale_by_slope(g + 2 * U, dgx + 2 * U, U);
    rec.scale_by_slope(g + 3 * U, dgx + 3 * U, U);
  }
};

// h = z * h_prev + (1 - z) * hh and its gradients, shared by both GRUs: dgx gets dL/dz (w.r.t.
// the activated z: the caller applies the gates' slope) and dL/dhh through the candidate's
// activation, dh the part z * dL/dh_t.
inline void gru_update(int64_t U, const float* __restrict__ g, const float* __restrict__ h_prev,
                       float* __restrict__ h) {
  for (int64_t u = 0; u < U; ++u) h[u] = g[u] * h_prev[u] + (1.0f - g[u]) * g[2 * U + u];
}

inline void gru_update_backward(int64_t U, const float* __restrict__ g,
                                const float* __restrict__ h_prev,
                                const float* __restrict__ dh_out, float* __restrict__ dh,
                                float* __restrict__ dgx, const Activation& act) {
  for (int64_t u = 0; u < U; ++u) {
    const float z = g[u], hh = g[2 * U + u];
    const float d = dh_out[u] + dh[u];
    dgx[u] = d * (h_prev[u] - hh);
    dgx[2 * U + u] = d * (1.0f - z);
    dh[u] = d * z;
  }
  act.scale_by_slope(g + 2 * U, dgx + 2 * U, U);
}

struct GruCell {
  static constexpr RnnCell kCell = RnnCell::Gru;
  static constexpr bool kAuxIsState = false;

  // aux: the recurrent candidate term rh = (h_prev @ recurrent + br)_h, which r scales.
  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* __restrict__ br,
                      const float* __restrict__ h_prev, const float* /*aux_prev*/,
                      float* __restrict__ rh_out, float* __restrict__ h, const Activation& act,
                      const Activation& rec) {
    for (int64_t u = 0; u < 2 * U; ++u) g[u] = g[u] + b[u] + r[u] + br[u];
    rec.apply(g, 2 * U);
    for (int64_t u = 0; u < U; ++u) {
      const float rh = r[2 * U + u] + br[2 * U + u];
      rh_out[u] = rh;
      g[2 * U + u] = g[2 * U + u] + b[2 * U + u] + g[U + u] * rh;
    }
    act.apply(g + 2 * U, U);
    gru_update(U, g, h_prev, h);
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* __restrict__ rh,
                       const float* /*aux_prev*/, const float* __restrict__ h_prev,
                       const float* __restrict__ dh_out, float* __restrict__ dh,
                       float* /*dc*/, float* __restrict__ dgx, float* __restrict__ dgr,
                       const float* /*daux*/, const Activation& act, const Activation& rec) {
    gru_update_backward(U, g, h_prev, dh_out, dh, dgx, act);
    for (int64_t u = 0; u < U; ++u) dgx[U + u] = dgx[2 * U + u] * rh[u];
    rec.scale_by_slope(g, dgx, 2 * U);  // z and r
    for (int64_t u = 0; u < U; ++u) {
      dgr[u] = dgx[u];
      dgr[U + u] = dgx[U + u];
      dgr[2 * U + u] = dgx[2 * U + u] * g[U + u];
    }
  }
};

// reset_after=False in two stages (rnn_staged): forward/backward are the z and r stage, the
// candidate_* functions the candidate's, which needs r * h_prev (aux) multiplied by the last U
// columns of the recurrent kernel first (forward: in r's last block; backward: daux, its
// gradient). One bias, the input projection's.
struct GruResetBeforeCell {
  static constexpr RnnCell kCell = RnnCell::GruResetBefore;
  static constexpr bool kAuxIsState = false;

  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/,
                      const float* __restrict__ h_prev, const float* /*aux_prev*/,
                      float* __restrict__ rh_in, float* /*h*/, const Activation& /*act*/,
                      const Activation& rec) {
    for (int64_t u = 0; u < 2 * U; ++u) g[u] = g[u] + b[u] + r[u];
    rec.apply(g, 2 * U);
    for (int64_t u = 0; u < U; ++u) rh_in[u] = g[U + u] * h_prev[u];
  }

  static void candidate_forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                                const float* __restrict__ b, const float* __restrict__ h_prev,
                                float* __restrict__ h, const Activation& act) {
    for (int64_t u = 0; u < U; ++u) g[2 * U + u] = g[2 * U + u] + b[2 * U + u] + r[2 * U + u];
    act.apply(g + 2 * U, U);
    gru_update(U, g, h_prev, h);
  }

  static void candidate_backward(int64_t U, const float* g, const float* h_prev,
                                 const float* dh_out, float* dh, float* dgx,
                                 const Activation& act, const Activation& rec) {
    gru_update_backward(U, g, h_prev, dh_out, dh, dgx, act);
    rec.scale_by_slope(g, dgx, U);  // z; r's gradient comes in the other stage
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* /*aux*/,
                       const float* /*aux_prev*/, const float* __restrict__ h_prev,
                       const float* /*dh_out*/, float* __restrict__ dh, float* /*dc*/,
                       float* __restrict__ dgx, float* /*dgr*/, const float* __restrict__ daux,
                       const Activation& /*act*/, const Activation& rec) {
    for (int64_t u = 0; u < U; ++u) {
      dgx[U + u] = daux[u] * h_prev[u];
      dh[u] += daux[u] * g[U + u];
    }
    rec.scale_by_slope(g + U, dgx + U, U);
  }
};

struct SimpleCell {
  static constexpr RnnCell kCell = RnnCell::Simple;
  static constexpr bool kAuxIsState = false;

  // g is this step's row of hs itself (SimpleRNN's gate activation is h), so it is updated in
  // place and h is not written separately.
  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/, const float* /*h_prev*/,
                      const float* /*aux_prev*/, float* /*aux*/, float* /*h*/,
                      const Activation& act, const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) g[u] = g[u] + r[u] + b[u];
    act.apply(g, U);
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* /*aux*/,
                       const float* /*aux_prev*/, const float* /*h_prev*/,
                       const float* __restrict__ dh_out, float* __restrict__ dh, float* /*dc*/,
                       float* __restrict__ dgx, float* /*dgr*/, const float* /*daux*/,
                       const Activation& act, const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      dgx[u] = dh_out[u] + dh[u];
      dh[u] = 0.0f;
    }
    act.scale_by_slope(g, dgx, U);
  }
};

template <class F>
F* at(const Rows<F>& rows, int64_t n) {
  return rows.p ? rows.p + n * rows.ld : nullptr;
}

bool masked(const Rows<const float>& mask, int64_t n) {
  return mask.p && mask.p[n * mask.ld] == 0.0f;
}

// A masked row keeps the previous step's states (see rnn.h); its gates are left as they are
// (the backward never reads them). SimpleRNN's h row is its gate row: the copy is the carry.
// The staged GRU's aux row is zeroed instead: it is an operand of the weight gradients' GEMMs,
// where the masked row's zero gate gradients must not meet stale values (0 * NaN).
template <class Cell>
void carry_states(const ForwardStep& s, int64_t n) {
  std::copy_n(at(s.h_prev, n), s.U, at(s.h, n));
  if constexpr (Cell::kAuxIsState) std::copy_n(at(s.aux_prev, n), s.U, at(s.aux, n));
  if constexpr (rnn_staged(Cell::kCell)) std::fill_n(at(s.aux, n), s.U, 0.0f);
}

template <class Cell>
void forward_rows(const ForwardStep& s, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    if (masked(s.mask, n)) {
      carry_states<Cell>(s, n);
      continue;
    }
    Cell::forward(s.U, at(s.g, n), at(s.r, n), s.b, s.br, at(s.h_prev, n), at(s.aux_prev, n),
                  at(s.aux, n), at(s.h, n), s.act, s.rec);
  }
}

// A masked row's state gradients pass to the step before unchanged (dh gains the step's output
// gradient, dc stays), and its gates get no gradient.
template <class Cell>
void pass_gradients(const BackwardStep& s, int64_t n) {
  const int64_t GU = rnn_gate_count(Cell::kCell) * s.U;
  float* const dh = at(s.dh, n);
  const float* const dh_out = at(s.dh_out, n);
  for (int64_t u = 0; u < s.U; ++u) dh[u] += dh_out[u];
  std::fill_n(at(s.dgx, n), GU, 0.0f);
  if constexpr (split_recurrent_grad(Cell::kCell)) std::fill_n(at(s.dgr, n), GU, 0.0f);
}

template <class Cell>
void backward_rows(const BackwardStep& s, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    if (masked(s.mask, n)) {
      pass_gradients<Cell>(s, n);
      continue;
    }
    Cell::backward(s.U, at(s.g, n), at(s.aux, n), at(s.aux_prev, n), at(s.h_prev, n),
                   at(s.dh_out, n), at(s.dh, n), at(s.dc, n), at(s.dgx, n), at(s.dgr, n),
                   at(s.daux, n), s.act, s.rec);
  }
}

// The staged GRU's candidate stage; a masked row is left to backward_rows' pass_gradients, and its
// candidate gradient block is zeroed for the GEMM in between.
void candidate_forward_rows(const ForwardStep& s, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n)
    if (!masked(s.mask, n))
      GruResetBeforeCell::candidate_forward(s.U, at(s.g, n), at(s.r, n), s.b, at(s.h_prev, n),
                                            at(s.h, n), s.act);
}

void candidate_backward_rows(const BackwardStep& s, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    if (masked(s.mask, n)) {
      std::fill_n(at(s.dgx, n) + 2 * s.U, s.U, 0.0f);
      continue;
    }
    GruResetBeforeCell::candidate_backward(s.U, at(s.g, n), at(s.h_prev, n), at(s.dh_out, n),
                                           at(s.dh, n), at(s.dgx, n), s.act, s.rec);
  }
}

// In RnnCell and RnnActivation order.
constexpr Kernels kKernels = {
    {forward_rows<LstmCell>, forward_rows<GruCell>, forward_rows<SimpleCell>,
     forward_rows<GruResetBeforeCell>},
    {backward_rows<LstmCell>, backward_rows<GruCell>, backward_rows<SimpleCell>,
     backward_rows<GruResetBeforeCell>},
    candidate_forward_rows,
    candidate_backward_rows,
    {activation_of<Tanh>(), activation_of<Sigmoid>(), activation_of<Relu>(),
     activation_of<HardSigmoid>(), activation_of<Linear>()}};

}  // namespace
}  // namespace shendu::rnn
