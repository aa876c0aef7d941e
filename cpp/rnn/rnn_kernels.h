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
};

struct BackwardStep {
  int64_t U;
  Rows<const float> g, aux, aux_prev, h_prev, dh_out;
  Rows<float> dh, dc, dgx, dgr;
  Rows<const float> mask;
};

using ForwardRows = void (*)(const ForwardStep& step, int64_t n0, int64_t n1);
using BackwardRows = void (*)(const BackwardStep& step, int64_t n0, int64_t n1);

// Whether the gate gradients seen by the recurrent projection differ from those seen by the
// input projection (GRU: r scales the recurrent candidate term), so need their own array.
constexpr bool split_recurrent_grad(RnnCell cell) { return cell == RnnCell::Gru; }

// Indexed by RnnCell.
static_assert(static_cast<int>(RnnCell::Lstm) == 0 && static_cast<int>(RnnCell::Gru) == 1 &&
              static_cast<int>(RnnCell::Simple) == 2);
struct Kernels {
  ForwardRows forward[3];
  BackwardRows backward[3];
};

const Kernels& kernels_generic();
const Kernels& kernels_avx2();    // rnn_avx2.cpp (AVX2 + FMA)
const Kernels& kernels_avx512();  // rnn_avx512.cpp (AVX-512)

namespace {

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
//   the recurrent projection. They differ only for GRU (r scales its recurrent candidate
//   term; see split_recurrent_grad); the others write dgx alone and dgr is the same array.

// The gates' sigmoid as 1 / (1 + e^-x): e^-x saturates at e^88.37, so nothing overflows, and
// a large negative x still gets e^x to full relative accuracy (1 + e^-x is e^-x then). Fewer
// operations than vec_math::sigmoid's split by the sign of x (the gate kernels are bound by
// arithmetic).
inline float sigmoid(float x) { return 1.0f / (1.0f + vec_math::exp(-x)); }

// Each cell also names its kind and says whether its aux row is a state that a masked step
// carries (LSTM's c) rather than a per-step cache (GRU's recurrent candidate term).
struct LstmCell {
  static constexpr RnnCell kCell = RnnCell::Lstm;
  static constexpr bool kAuxIsState = true;

  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/, const float* /*h_prev*/,
                      const float* __restrict__ c_prev, float* __restrict__ c,
                      float* __restrict__ h) {
    for (int64_t u = 0; u < U; ++u) {
      const float i = sigmoid(g[u] + r[u] + b[u]);
      const float f = sigmoid(g[U + u] + r[U + u] + b[U + u]);
      const float cc = vec_math::tanh(g[2 * U + u] + r[2 * U + u] + b[2 * U + u]);
      const float o = sigmoid(g[3 * U + u] + r[3 * U + u] + b[3 * U + u]);
      const float cn = f * c_prev[u] + i * cc;
      g[u] = i;
      g[U + u] = f;
      g[2 * U + u] = cc;
      g[3 * U + u] = o;
      c[u] = cn;
    }
    // A second pass for h: in one loop, tanh(c) waits on the gates' exps and division, and the
    // chain of latencies (not the arithmetic) bounded the loop; two shorter ones overlap their
    // iterations.
    for (int64_t u = 0; u < U; ++u) h[u] = g[3 * U + u] * vec_math::tanh(c[u]);
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* __restrict__ c,
                       const float* __restrict__ c_prev, const float* /*h_prev*/,
                       const float* __restrict__ dh_out, float* __restrict__ dh,
                       float* __restrict__ dc, float* __restrict__ dgx, float* /*dgr*/) {
    for (int64_t u = 0; u < U; ++u) {
      const float i = g[u], f = g[U + u], cc = g[2 * U + u], o = g[3 * U + u];
      const float d = dh_out[u] + dh[u];
      const float tc = vec_math::tanh(c[u]);
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
  static constexpr bool kAuxIsState = false;

  // aux: the recurrent candidate term rh = (h_prev @ recurrent + br)_h, which r scales.
  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* __restrict__ br,
                      const float* __restrict__ h_prev, const float* /*aux_prev*/,
                      float* __restrict__ rh_out, float* __restrict__ h) {
    for (int64_t u = 0; u < U; ++u) {
      const float z = sigmoid(g[u] + b[u] + r[u] + br[u]);
      const float rr = sigmoid(g[U + u] + b[U + u] + r[U + u] + br[U + u]);
      const float rh = r[2 * U + u] + br[2 * U + u];
      const float hh = vec_math::tanh(g[2 * U + u] + b[2 * U + u] + rr * rh);
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
  static constexpr bool kAuxIsState = false;

  // g is this step's row of hs itself (SimpleRNN's gate activation is h), so it is updated in
  // place and h is not written separately.
  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/, const float* /*h_prev*/,
                      const float* /*aux_prev*/, float* /*aux*/, float* /*h*/) {
    for (int64_t u = 0; u < U; ++u) g[u] = vec_math::tanh(g[u] + r[u] + b[u]);
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

template <class F>
F* at(const Rows<F>& rows, int64_t n) {
  return rows.p ? rows.p + n * rows.ld : nullptr;
}

bool masked(const Rows<const float>& mask, int64_t n) {
  return mask.p && mask.p[n * mask.ld] == 0.0f;
}

// A masked row keeps the previous step's states (see rnn.h); its gates are left as they are
// (the backward never reads them). SimpleRNN's h row is its gate row: the copy is the carry.
template <class Cell>
void carry_states(const ForwardStep& s, int64_t n) {
  std::copy_n(at(s.h_prev, n), s.U, at(s.h, n));
  if constexpr (Cell::kAuxIsState) std::copy_n(at(s.aux_prev, n), s.U, at(s.aux, n));
}

template <class Cell>
void forward_rows(const ForwardStep& s, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    if (masked(s.mask, n)) {
      carry_states<Cell>(s, n);
      continue;
    }
    Cell::forward(s.U, at(s.g, n), at(s.r, n), s.b, s.br, at(s.h_prev, n), at(s.aux_prev, n),
                  at(s.aux, n), at(s.h, n));
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
                   at(s.dh_out, n), at(s.dh, n), at(s.dc, n), at(s.dgx, n), at(s.dgr, n));
  }
}

// In RnnCell order.
constexpr Kernels kKernels = {
    {forward_rows<LstmCell>, forward_rows<GruCell>, forward_rows<SimpleCell>},
    {backward_rows<LstmCell>, backward_rows<GruCell>, backward_rows<SimpleCell>}};

}  // namespace
}  // namespace shendu::rnn
