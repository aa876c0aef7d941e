// The sequence driver of the recurrent family, written once for every cell; the gate kernels
// it calls per step are in rnn_cells.h (this file also builds their portable variant).
#include "rnn.h"

#include <algorithm>
#include <vector>

#include "cpu_features.h"
#include "gemm.h"
#include "parallel.h"
#include "rnn_cells.h"

namespace shendu {

namespace rnn {
const CellKernels& cell_kernels_generic() { return kCellKernels; }
}  // namespace rnn

namespace {

using rnn::Rows;

const rnn::CellKernels& cell_kernels() {
  switch (active_isa()) {
    case Isa::Avx512: return rnn::cell_kernels_avx512();
    case Isa::Avx2: return rnn::cell_kernels_avx2();
    case Isa::Generic: break;
  }
  return rnn::cell_kernels_generic();
}

// Rough flops per gate element of the fused kernels (exp polynomials included), for threading.
constexpr int64_t kGateWork = 30;

// An (N, T, width) sequence whose step -1 is the (N, width) initial state `init`.
// A null seq (an array the cell lacks) gives null rows.
struct Sequence {
  const float* seq;
  const float* init;
  int64_t T, width;

  Rows<const float> step(int64_t t) const {
    if (!seq) return {nullptr, 0};
    return t < 0 ? Rows<const float>{init, width} : Rows<const float>{seq + t * width, T * width};
  }
  const float* row(int64_t n, int64_t t) const { return step(t).p + n * step(t).ld; }
};

// Rows of step t of an (N, T, width) sequence (null when the cell lacks it).
template <class F>
Rows<F> step_of(F* seq, int64_t T, int64_t width, int64_t t) {
  if (!seq) return {nullptr, 0};
  return {seq + t * width, T * width};
}

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

}  // namespace

void rnn_forward(RnnCell cell, const RnnShape& s, const RnnForwardArgs& a) {
  const int64_t N = s.N, T = s.T, U = s.U, GU = rnn_gate_count(cell) * U;
  const rnn::ForwardRows kernel = cell_kernels().forward[static_cast<int>(cell)];
  // SimpleRNN's one gate activation is h: its gate kernel works in place in hs.
  float* const gates = rnn_has_aux(cell) ? a.gates : a.hs;
  const std::vector<float> zeros(std::max(N * U, GU), 0.0f);
  const Sequence hs{a.hs, a.h0 ? a.h0 : zeros.data(), T, U};
  const Sequence aux{a.aux, a.c0 ? a.c0 : zeros.data(), T, U};

  // The input projections of all steps in one GEMM; each step adds its recurrent part.
  sgemm(false, false, N * T, GU, s.I, 1.0f, a.x, s.I, a.kernel, GU, 0.0f, gates, GU);
  std::vector<float> rec(N * GU);
  for (int64_t t = 0; t < T; ++t) {
    const Rows<const float> h_prev = hs.step(t - 1);
    sgemm(false, false, N, GU, U, 1.0f, h_prev.p, h_prev.ld, a.recurrent, GU, 0.0f, rec.data(),
          GU);
    const rnn::ForwardStep step{U,
                                step_of(gates, T, GU, t),
                                {rec.data(), GU},
                                h_prev,
                                aux.step(t - 1),
                                step_of(a.aux, T, U, t),
                                step_of(a.hs, T, U, t),
                                a.bias ? a.bias : zeros.data(),
                                a.bias_rec ? a.bias_rec : zeros.data()};
    parallel_for(N, GU * kGateWork, [&](int64_t n0, int64_t n1) { kernel(step, n0, n1); });
  }
  for (int64_t n = 0; n < N; ++n) {
    std::copy_n(hs.row(n, T - 1), U, a.h_T + n * U);
    if (a.c_T) std::copy_n(aux.row(n, T - 1), U, a.c_T + n * U);
  }
}

void rnn_backward(RnnCell cell, const RnnShape& s, const RnnBackwardArgs& a) {
  const int64_t N = s.N, T = s.T, I = s.I, U = s.U, GU = rnn_gate_count(cell) * U;
  const rnn::BackwardRows kernel = cell_kernels().backward[static_cast<int>(cell)];
  const bool split = rnn::split_recurrent_grad(cell);
  const float* const gates = rnn_has_aux(cell) ? a.gates : a.hs;
  const std::vector<float> zeros(N * U, 0.0f);
  const Sequence hs{a.hs, a.h0 ? a.h0 : zeros.data(), T, U};
  const Sequence aux{a.aux, a.c0 ? a.c0 : zeros.data(), T, U};

  // The recurrent kernel transposed once: every step's GEMM then reads a row-major (G*U, U)
  // operand instead of packing a transposed one again (measured ~2x faster at N = 32).
  std::vector<float> recurrent_t(GU * U);
  for (int64_t i = 0; i < U; ++i)
    for (int64_t j = 0; j < GU; ++j) recurrent_t[j * U + i] = a.recurrent[i * GU + j];

  std::vector<float> dgx(N * T * GU);
  std::vector<float> dgr_split(split ? N * T * GU : 0);
  float* const dgr = split ? dgr_split.data() : dgx.data();
  // dh0 and dc0 carry the state gradients backwards through the steps.
  copy_or_zero(a.dh_T, N * U, a.dh0);
  if (a.dc0) copy_or_zero(a.dc_T, N * U, a.dc0);
  for (int64_t t = T - 1; t >= 0; --t) {
    const rnn::BackwardStep step{U,
                                 step_of(gates, T, GU, t),
                                 aux.step(t),
                                 aux.step(t - 1),
                                 hs.step(t - 1),
                                 step_of(a.dhs, T, U, t),
                                 {a.dh0, U},
                                 {a.dc0, U},
                                 step_of(dgx.data(), T, GU, t),
                                 step_of(dgr, T, GU, t)};
    parallel_for(N, GU * kGateWork, [&](int64_t n0, int64_t n1) { kernel(step, n0, n1); });
    sgemm(false, false, N, U, GU, 1.0f, dgr + t * GU, T * GU, recurrent_t.data(), U, 1.0f,
          a.dh0, U);
  }

  // Every weight gradient as one GEMM over all N * T rows.
  sgemm(true, false, I, GU, N * T, 1.0f, a.x, I, dgx.data(), GU, 0.0f, a.dkernel, GU);
  sgemm(false, true, N * T, I, GU, 1.0f, dgx.data(), GU, a.kernel, GU, 0.0f, a.dx, I);
  std::vector<float> h_prev(N * T * U);  // h_{t-1} of every step, lined up with dgr
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) std::copy_n(hs.row(n, t - 1), U, &h_prev[(n * T + t) * U]);
  sgemm(true, false, U, GU, N * T, 1.0f, h_prev.data(), U, dgr, GU, 0.0f, a.drecurrent, GU);
  column_sums(dgx.data(), N * T, GU, a.dbias);
  if (split) column_sums(dgr, N * T, GU, a.dbias + GU);
}

}  // namespace shendu
