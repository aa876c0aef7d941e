// The recurrent cells for any pair of activations, for rnn_kernels.h: the activations run from
// the table (Activation, rnn_activations.h) over whole gate blocks between the cells' own loops:
// in the backward, first the gradient w.r.t. each activated gate, then one scale_by_slope per
// block. Keras's default pair has its own cells (rnn_fused_cells.h), with the same arguments.
//
// Everything with code lives in an unnamed namespace (see rnn_kernels.h).
#pragma once
#include <cstdint>

#include "rnn/rnn.h"
#include "rnn/rnn_activations.h"
#include "rnn/rnn_fused_cells.h"

namespace shendu::rnn {
namespace {

struct LstmTableCell {
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

// The GRU update (gru_update, rnn_fused_cells.h) over a row, and its gradients: dgx gets dL/dz
// (w.r.t. the activated z: the caller applies the gates' slope) and dL/dhh through the
// candidate's activation, dh the part z * dL/dh_t.
inline void gru_update_row(int64_t U, const float* __restrict__ g,
                           const float* __restrict__ h_prev, float* __restrict__ h) {
  for (int64_t u = 0; u < U; ++u) h[u] = gru_update(g[u], h_prev[u], g[2 * U + u]);
}

inline void gru_update_row_backward(int64_t U, const float* __restrict__ g,
                                    const float* __restrict__ h_prev,
                                    const float* __restrict__ dh_out, float* __restrict__ dh,
                                    float* __restrict__ dgx, const Activation& act) {
  for (int64_t u = 0; u < U; ++u) {
    // Linear: the gradients w.r.t. the activated z and hh; the slopes come over whole blocks.
    const GruUpdateGrad up =
        gru_update_backward<Linear, Linear>(dh_out[u] + dh[u], g[u], h_prev[u], g[2 * U + u]);
    dgx[u] = up.dz;
    dgx[2 * U + u] = up.dhh;
    dh[u] = up.dh_prev;
  }
  act.scale_by_slope(g + 2 * U, dgx + 2 * U, U);
}

struct GruTableCell {
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
    gru_update_row(U, g, h_prev, h);
  }

  static void backward(int64_t U, const float* __restrict__ g, const float* __restrict__ rh,
                       const float* /*aux_prev*/, const float* __restrict__ h_prev,
                       const float* __restrict__ dh_out, float* __restrict__ dh,
                       float* /*dc*/, float* __restrict__ dgx, float* __restrict__ dgr,
                       const float* /*daux*/, const Activation& act, const Activation& rec) {
    gru_update_row_backward(U, g, h_prev, dh_out, dh, dgx, act);
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
struct GruResetBeforeTableCell {
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
    gru_update_row(U, g, h_prev, h);
  }

  static void candidate_backward(int64_t U, const float* g, const float* h_prev,
                                 const float* dh_out, float* dh, float* dgx,
                                 const Activation& act, const Activation& rec) {
    gru_update_row_backward(U, g, h_prev, dh_out, dh, dgx, act);
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

struct SimpleTableCell {
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

}  // namespace
}  // namespace shendu::rnn
