// Recurrent layers over whole sequences (N, T, I), Keras formulas and weight layouts.
//
// One driver serves every cell: a single GEMM projects the inputs of all time steps at once,
// then each step does one recurrent GEMM and one fused, vectorizable gate kernel per batch row.
// The backward walks the steps in reverse with a fused gate-backward kernel and one GEMM for
// dh_prev per step, and computes every weight gradient as one big GEMM over all steps at the end.
#pragma once
#include <cstdint>

namespace shendu {

// LSTM gates i, f, c, o; GRU gates z, r, h, reset_after=True (Gru: r scales the recurrent
// candidate term h_{t-1} @ U_h + b_rec_h) or False (GruResetBefore: the candidate's recurrent
// term is (r * h_{t-1}) @ U_h, one bias); SimpleRNN h = activation(...).
enum class RnnCell { Lstm, Gru, Simple, GruResetBefore };

constexpr int rnn_gate_count(RnnCell cell) {
  return cell == RnnCell::Lstm ? 4 : cell == RnnCell::Simple ? 1 : 3;
}

// Besides the activated gates and hs, LSTM caches its cell states c_t, GRU its recurrent
// candidate term h_{t-1} @ U_h + b_rec_h, and GRU reset_after=False the operand of its candidate's
// recurrent product, r * h_{t-1}: one extra (N, T, U) array, "aux". SimpleRNN's only gate
// activation is h itself, so it caches nothing but hs (its gate buffer IS hs).
constexpr bool rnn_has_aux(RnnCell cell) { return cell != RnnCell::Simple; }

// GRU reset_after=False multiplies h_{t-1} by the recurrent kernel in two stages: the z and r
// columns first, then, once r is known, r * h_{t-1} by the candidate's columns (the last U).
constexpr bool rnn_staged(RnnCell cell) { return cell == RnnCell::GruResetBefore; }

// Keras's names: tanh, sigmoid, relu, hard_sigmoid (relu6(x + 3) / 6), linear. Each is
// differentiated from its output alone.
enum class RnnActivation { Tanh, Sigmoid, Relu, HardSigmoid, Linear };
constexpr int kRnnActivationCount = 5;

// `activation` is the candidate's (and LSTM's cell-state output's, SimpleRNN's h); `recurrent`
// the gates' (LSTM i, f, o; GRU z, r). Keras's defaults.
struct RnnActivations {
  RnnActivation activation = RnnActivation::Tanh;
  RnnActivation recurrent = RnnActivation::Sigmoid;
};

struct RnnShape {
  int64_t N, T, I, U;  // batch, steps, input features, units
};

// Pointers to C-contiguous float32 arrays; G = rnn_gate_count(cell). Nullable ones are marked.
struct RnnForwardArgs {
  const float* x;          // (N, T, I)
  const float* kernel;     // (I, G*U)
  const float* recurrent;  // (U, G*U)
  const float* bias;       // (G*U,) or null; Gru: the input bias (row 0 of Keras's (2, 3U))
  const float* bias_rec;   // Gru: the recurrent bias (row 1) or null; others: null
  const float* h0;         // (N, U) or null (zeros)
  const float* c0;         // LSTM: (N, U) or null (zeros); others: null
  float* hs;               // out (N, T, U)
  float* hs_copy;          // out (N, T, U) or null: a second copy of hs, written as each share ends
  float* h_T;              // out (N, U)
  float* c_T;              // out (N, U), LSTM only
  float* gates;            // out (N, T, G*U) activated gates (cache); SimpleRNN: null (hs is used)
  float* aux;              // out (N, T, U) (cache) when rnn_has_aux, else null
  const float* mask;       // (N, T) or null: a step whose entry is 0 is skipped (see below)
};

struct RnnBackwardArgs {
  const float* dhs;        // (N, T, U)
  const float* dh_T;       // (N, U) or null
  const float* dc_T;       // LSTM: (N, U) or null
  const float* x;          // the forward's inputs and cache
  const float* kernel;
  const float* recurrent;
  const float* gates;      // SimpleRNN: null (hs is used)
  const float* aux;
  const float* hs;
  const float* h0;         // or null
  const float* c0;         // LSTM, or null
  float* dx;               // out (N, T, I)
  float* dkernel;          // out (I, G*U)
  float* drecurrent;       // out (U, G*U)
  float* dbias;            // out (G*U,); Gru: (2, G*U), input then recurrent bias
  float* dh0;              // out (N, U)
  float* dc0;              // out (N, U), LSTM only
  const float* mask;       // the forward's mask, or null
};

// A masked step (mask 0) is skipped as Keras skips it: every state (h, and LSTM's c) keeps the
// previous step's value, so hs at that step repeats the step before (h0 at the start). Its gates
// are not computed, and in the backward it passes the state gradients through unchanged and adds
// nothing to the weight or input gradients.
void rnn_forward(RnnCell cell, RnnActivations acts, const RnnShape& shape,
                 const RnnForwardArgs& args);
void rnn_backward(RnnCell cell, RnnActivations acts, const RnnShape& shape,
                  const RnnBackwardArgs& args);

}  // namespace shendu
