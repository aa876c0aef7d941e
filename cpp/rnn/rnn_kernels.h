// The per-step gate kernels of the recurrent family, compiled once per instruction set:
// rnn.cpp (portable), rnn_avx2.cpp and rnn_avx512.cpp each include this file and export the
// table of its kernels; rnn.cpp's driver picks one at run time (for_isa, common/cpu_features.h).
//
// Everything with code lives in an unnamed namespace: each including file gets its own copy,
// compiled with its own ISA flags, and the linker can never swap one for another.
#pragma once
#include <algorithm>
#include <cstdint>

#include "rnn/rnn.h"
#include "rnn/rnn_activations.h"
#include "rnn/rnn_fused_cells.h"
#include "rnn/rnn_table_cells.h"

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
  Activation act, rec;     // the candidate's and the gates' activations (table cells)
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

// One set of cells' kernels, indexed by RnnCell; the staged cell's second stage (rnn_staged)
// has its own entries.
static_assert(static_cast<int>(RnnCell::Lstm) == 0 && static_cast<int>(RnnCell::Gru) == 1 &&
              static_cast<int>(RnnCell::Simple) == 2 &&
              static_cast<int>(RnnCell::GruResetBefore) == 3);
struct CellKernels {
  ForwardRows forward[4];
  BackwardRows backward[4];
  ForwardRows candidate_forward;    // GruResetBefore, after the candidate's recurrent product
  BackwardRows candidate_backward;  // GruResetBefore, before that product's backward GEMM
};

static_assert(static_cast<int>(RnnActivation::Tanh) == 0 &&
              static_cast<int>(RnnActivation::Sigmoid) == 1 &&
              static_cast<int>(RnnActivation::Relu) == 2 &&
              static_cast<int>(RnnActivation::HardSigmoid) == 3 &&
              static_cast<int>(RnnActivation::Linear) == 4 && kRnnActivationCount == 5);
struct Kernels {
  CellKernels fused;  // Keras's defaults, tanh and sigmoid (rnn_fused_cells.h)
  CellKernels table;  // any other pair, with activations[...] in the steps (rnn_table_cells.h)
  Activation activations[kRnnActivationCount];  // in RnnActivation order

  const CellKernels& cells(RnnActivations acts) const {
    const bool defaults =
        acts.activation == RnnActivation::Tanh && acts.recurrent == RnnActivation::Sigmoid;
    return defaults ? fused : table;
  }
};

const Kernels& kernels_generic();
const Kernels& kernels_avx2();    // rnn_avx2.cpp (AVX2 + FMA)
const Kernels& kernels_avx512();  // rnn_avx512.cpp (AVX-512)

namespace {

// ---- cells: one batch row of one step -----------------------------------------------------------
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
// Each cell exists twice: with Keras's default activations inlined in its loops
// (rnn_fused_cells.h), and for any other pair, with the activations from the table
// (rnn_table_cells.h).

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

// The masked rows come in a loop of their own: a call in the cells' loop (the carry is not
// inlined where two cells share it) made the compiler load the step's fields again for every row.
template <class Cell>
void forward_rows(const ForwardStep& s, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n)
    if (!masked(s.mask, n))
      Cell::forward(s.U, at(s.g, n), at(s.r, n), s.b, s.br, at(s.h_prev, n), at(s.aux_prev, n),
                    at(s.aux, n), at(s.h, n), s.act, s.rec);
  if (s.mask.p)
    for (int64_t n = n0; n < n1; ++n)
      if (masked(s.mask, n)) carry_states<Cell>(s, n);
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
  for (int64_t n = n0; n < n1; ++n)
    if (!masked(s.mask, n))
      Cell::backward(s.U, at(s.g, n), at(s.aux, n), at(s.aux_prev, n), at(s.h_prev, n),
                     at(s.dh_out, n), at(s.dh, n), at(s.dc, n), at(s.dgx, n), at(s.dgr, n),
                     at(s.daux, n), s.act, s.rec);
  if (s.mask.p)  // as in forward_rows
    for (int64_t n = n0; n < n1; ++n)
      if (masked(s.mask, n)) pass_gradients<Cell>(s, n);
}

// The staged GRU's candidate stage; a masked row is left to backward_rows' pass_gradients, and its
// candidate gradient block is zeroed for the GEMM in between.
template <class Cell>
void candidate_forward_rows(const ForwardStep& s, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n)
    if (!masked(s.mask, n))
      Cell::candidate_forward(s.U, at(s.g, n), at(s.r, n), s.b, at(s.h_prev, n), at(s.h, n),
                              s.act);
}

template <class Cell>
void candidate_backward_rows(const BackwardStep& s, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    if (masked(s.mask, n)) {
      std::fill_n(at(s.dgx, n) + 2 * s.U, s.U, 0.0f);
      continue;
    }
    Cell::candidate_backward(s.U, at(s.g, n), at(s.h_prev, n), at(s.dh_out, n), at(s.dh, n),
                             at(s.dgx, n), s.act, s.rec);
  }
}

// In RnnCell order.
template <class Lstm, class Gru, class Simple, class Staged>
constexpr CellKernels cell_kernels() {
  return {{forward_rows<Lstm>, forward_rows<Gru>, forward_rows<Simple>, forward_rows<Staged>},
          {backward_rows<Lstm>, backward_rows<Gru>, backward_rows<Simple>, backward_rows<Staged>},
          candidate_forward_rows<Staged>,
          candidate_backward_rows<Staged>};
}

constexpr Kernels kKernels = {
    cell_kernels<LstmCell<Tanh, Sigmoid>, GruCell<Tanh, Sigmoid>, SimpleCell<Tanh, Sigmoid>,
                 GruResetBeforeCell<Tanh, Sigmoid>>(),
    cell_kernels<LstmTableCell, GruTableCell, SimpleTableCell, GruResetBeforeTableCell>(),
    {activation_of<Tanh>(), activation_of<Sigmoid>(), activation_of<Relu>(),
     activation_of<HardSigmoid>(), activation_of<Linear>()}};

}  // namespace
}  // namespace shendu::rnn
