// The recurrent cells with their activations inlined, for rnn_kernels.h: each activation is
// applied in the loop that computes its argument, so a step reads and writes each gate row once.
// Templates on the activation pair (Act: the candidate's, and LSTM's cell-state output's; Rec:
// the gates'); rnn_kernels.h instantiates Keras's defaults, tanh and sigmoid, and the table cells
// (rnn_table_cells.h) serve every other pair. The table cells' separate passes over each gate
// block cost up to half as much again per step at 16 to 64 units (bench/NOTES.md); every pair
// compiled this way would be 400 KB of code per instruction set.
//
// The cells' arguments are described in rnn_kernels.h; act and rec, the table's activations,
// are not used here.
//
// Everything with code lives in an unnamed namespace (see rnn_kernels.h).
#pragma once
#include <cstdint>

#include "rnn/rnn.h"
#include "rnn/rnn_activations.h"

namespace shendu::rnn {
namespace {

template <class Act, class Rec>
struct LstmCell {
  static constexpr RnnCell kCell = RnnCell::Lstm;
  static constexpr bool kAuxIsState = true;

  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/, const float* /*h_prev*/,
                      const float* __restrict__ c_prev, float* __restrict__ c,
                      float* __restrict__ h, const Activation& /*act*/,
                      const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      const float i = Rec::f(g[u] + r[u] + b[u]);
      const float f = Rec::f(g[U + u] + r[U + u] + b[U + u]);
      const float cc = Act::f(g[2 * U + u] + r[2 * U + u] + b[2 * U + u]);
      const float o = Rec::f(g[3 * U + u] + r[3 * U + u] + b[3 * U + u]);
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
    for (int64_t u = 0; u < U; ++u) h[u] = g[3 * U + u] * Act::f(c[u]);
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* __restrict__ c,
                       const float* __restrict__ c_prev, const float* /*h_prev*/,
                       const float* __restrict__ dh_out, float* __restrict__ dh,
                       float* __restrict__ dc, float* __restrict__ dgx, float* /*dgr*/,
                       const float* /*daux*/, const Activation& /*act*/,
                       const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      const float i = g[u], f = g[U + u], cc = g[2 * U + u], o = g[3 * U + u];
      const float d = dh_out[u] + dh[u];
      const float tc = Act::f(c[u]);
      const float dcn = dc[u] + Act::grad(d * o, tc);
      dgx[u] = Rec::grad(dcn * cc, i);
      dgx[U + u] = Rec::grad(dcn * c_prev[u], f);
      dgx[2 * U + u] = Act::grad(dcn * i, cc);
      dgx[3 * U + u] = Rec::grad(d * tc, o);
      dc[u] = dcn * f;
      dh[u] = 0.0f;  // h_{t-1} reaches h_t only through the recurrent kernel
    }
  }
};

// h = z * h_prev + (1 - z) * hh, shared by both GRUs (and by the table cells), and its gradients
// given d = dL/dh: w.r.t. the pre-activations of z and hh, and h_prev's direct part z * d.
inline float gru_update(float z, float h_prev, float hh) { return z * h_prev + (1.0f - z) * hh; }

struct GruUpdateGrad {
  float dz, dhh, dh_prev;
};

template <class Act, class Rec>
GruUpdateGrad gru_update_backward(float d, float z, float h_prev, float hh) {
  return {Rec::grad(d * (h_prev - hh), z), Act::grad(d * (1.0f - z), hh), d * z};
}

template <class Act, class Rec>
struct GruCell {
  static constexpr RnnCell kCell = RnnCell::Gru;
  static constexpr bool kAuxIsState = false;

  // aux: the recurrent candidate term rh = (h_prev @ recurrent + br)_h, which r scales.
  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* __restrict__ br,
                      const float* __restrict__ h_prev, const float* /*aux_prev*/,
                      float* __restrict__ rh_out, float* __restrict__ h,
                      const Activation& /*act*/, const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      const float z = Rec::f(g[u] + b[u] + r[u] + br[u]);
      const float rr = Rec::f(g[U + u] + b[U + u] + r[U + u] + br[U + u]);
      const float rh = r[2 * U + u] + br[2 * U + u];
      const float hh = Act::f(g[2 * U + u] + b[2 * U + u] + rr * rh);
      g[u] = z;
      g[U + u] = rr;
      g[2 * U + u] = hh;
      rh_out[u] = rh;
      h[u] = gru_update(z, h_prev[u], hh);
    }
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* __restrict__ rh,
                       const float* /*aux_prev*/, const float* __restrict__ h_prev,
                       const float* __restrict__ dh_out, float* __restrict__ dh,
                       float* /*dc*/, float* __restrict__ dgx, float* __restrict__ dgr,
                       const float* /*daux*/, const Activation& /*act*/,
                       const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      const float rr = g[U + u];
      const GruUpdateGrad up =
          gru_update_backward<Act, Rec>(dh_out[u] + dh[u], g[u], h_prev[u], g[2 * U + u]);
      const float dr = Rec::grad(up.dhh * rh[u], rr);
      dgx[u] = up.dz;
      dgx[U + u] = dr;
      dgx[2 * U + u] = up.dhh;
      dgr[u] = up.dz;
      dgr[U + u] = dr;
      dgr[2 * U + u] = up.dhh * rr;
      dh[u] = up.dh_prev;
    }
  }
};

// reset_after=False in two stages (see GruResetBeforeTableCell): forward/backward are the z and
// r stage, candidate_forward/candidate_backward the candidate's.
template <class Act, class Rec>
struct GruResetBeforeCell {
  static constexpr RnnCell kCell = RnnCell::GruResetBefore;
  static constexpr bool kAuxIsState = false;

  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/,
                      const float* __restrict__ h_prev, const float* /*aux_prev*/,
                      float* __restrict__ rh_in, float* /*h*/, const Activation& /*act*/,
                      const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      const float rr = Rec::f(g[U + u] + b[U + u] + r[U + u]);
      g[u] = Rec::f(g[u] + b[u] + r[u]);
      g[U + u] = rr;
      rh_in[u] = rr * h_prev[u];
    }
  }

  static void candidate_forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                                const float* __restrict__ b, const float* __restrict__ h_prev,
                                float* __restrict__ h, const Activation& /*act*/) {
    for (int64_t u = 0; u < U; ++u) {
      const float hh = Act::f(g[2 * U + u] + b[2 * U + u] + r[2 * U + u]);
      g[2 * U + u] = hh;
      h[u] = gru_update(g[u], h_prev[u], hh);
    }
  }

  static void candidate_backward(int64_t U, const float* __restrict__ g,
                                 const float* __restrict__ h_prev,
                                 const float* __restrict__ dh_out, float* __restrict__ dh,
                                 float* __restrict__ dgx, const Activation& /*act*/,
                                 const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      const GruUpdateGrad up =
          gru_update_backward<Act, Rec>(dh_out[u] + dh[u], g[u], h_prev[u], g[2 * U + u]);
      dgx[u] = up.dz;
      dgx[2 * U + u] = up.dhh;
      dh[u] = up.dh_prev;
    }
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* /*aux*/,
                       const float* /*aux_prev*/, const float* __restrict__ h_prev,
                       const float* /*dh_out*/, float* __restrict__ dh, float* /*dc*/,
                       float* __restrict__ dgx, float* /*dgr*/, const float* __restrict__ daux,
                       const Activation& /*act*/, const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      dgx[U + u] = Rec::grad(daux[u] * h_prev[u], g[U + u]);
      dh[u] += daux[u] * g[U + u];
    }
  }
};

template <class Act, class /*Rec*/>
struct SimpleCell {
  static constexpr RnnCell kCell = RnnCell::Simple;
  static constexpr bool kAuxIsState = false;

  // g is this step's row of hs itself (SimpleRNN's gate activation is h), so it is updated in
  // place and h is not written separately.
  static void forward(int64_t U, float* __restrict__ g, const float* __restrict__ r,
                      const float* __restrict__ b, const float* /*br*/, const float* /*h_prev*/,
                      const float* /*aux_prev*/, float* /*aux*/, float* /*h*/,
                      const Activation& /*act*/, const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) g[u] = Act::f(g[u] + r[u] + b[u]);
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* /*aux*/,
                       const float* /*aux_prev*/, const float* /*h_prev*/,
                       const float* __restrict__ dh_out, float* __restrict__ dh, float* /*dc*/,
                       float* __restrict__ dgx, float* /*dgr*/, const float* /*daux*/,
                       const Activation& /*act*/, const Activation& /*rec*/) {
    for (int64_t u = 0; u < U; ++u) {
      dgx[u] = Act::grad(dh_out[u] + dh[u], g[u]);
      dh[u] = 0.0f;
    }
  }
};

}  // namespace
}  // namespace shendu::rnn
