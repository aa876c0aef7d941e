// The sequence driver of the recurrent family, written once for every cell; the gate kernels
// it calls per step are in rnn_kernels.h (this file also builds their portable variant).
#include "rnn/rnn.h"

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <new>
#include <vector>

#include "common/cpu_features.h"
#include "common/parallel.h"
#include "gemm/gemm.h"
#include "rnn/rnn_kernels.h"

namespace shendu {

namespace rnn {
const Kernels& kernels_generic() { return kKernels; }
}  // namespace rnn

namespace {

using rnn::Rows;

const rnn::Kernels& cell_kernels() {
  return for_isa(rnn::kernels_generic, rnn::kernels_avx2, rnn::kernels_avx512);
}

// Rough flops per gate element of the fused kernels (exp polynomials included), for threading.
constexpr int64_t kGateWork = 30;

// A buffer whose every element is written before it is read: std::vector without the zero-fill.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class V>
  struct rebind {
    using other = UninitializedAllocator<V>;
  };
  template <class V>
  void construct(V* p) noexcept {
    ::new (static_cast<void*>(p)) V;
  }
};
using Scratch = std::vector<float, UninitializedAllocator<float>>;

// The backward's scratch arrays, carved from one buffer that the calling thread keeps between
// calls: a fresh allocation of this size is fresh pages, one page fault per 4 KiB on first touch.
// Above kKeptFloats it is freed after the call.
class Workspace {
 public:
  explicit Workspace(std::initializer_list<int64_t> sizes) {
    int64_t total = 0;
    for (int64_t n : sizes) total += padded(n);
    thread_local Scratch kept;
    Scratch& buf = total <= kKeptFloats ? kept : own_;
    if (static_cast<int64_t>(buf.size()) < total) buf.resize(total);
    float* p = buf.data();
    for (int64_t n : sizes) {
      parts_.push_back(p);
      p += padded(n);
    }
  }
  float* operator[](size_t i) const { return parts_[i]; }

 private:
  static constexpr int64_t kKeptFloats = int64_t{4} << 20;  // 16 MiB
  static int64_t padded(int64_t n) { return (n + 15) / 16 * 16; }  // 64-byte aligned parts
  Scratch own_;
  std::vector<float*> parts_;
};

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

// The same rows from batch row n0 on.
template <class F>
Rows<F> from(Rows<F> rows, int64_t n0) {
  return {rows.p ? rows.p + n0 * rows.ld : nullptr, rows.ld};
}

// The recurrence runs in one parallel region: each thread takes a fixed share of the batch
// rows and walks every step on them with single-threaded GEMMs, so no thread ever waits for
// another between steps (a barrier per step costs more than a step on a shared machine). Each
// row's arithmetic is the same whatever share it is in, so results do not depend on the thread
// count. Shares are kShareRows rows, fewer where the batch is too small to give every thread one;
// a thread handed several adjacent shares walks them one after another (each share's gates stay
// in L2 from its input projection to its steps, and its GEMMs need no 4-row remainder tile).
// Smaller shares are slower: a 4-row share re-reads the whole recurrent kernel (64 KiB for 64
// LSTM units, more than L1) every step for 4 rows of work. body also gets the share's input
// projections and, in the backward, its dx: one region per call, and each share's rows stay in
// its thread's cache from one phase to the next.
constexpr int64_t kShareRows = 8;

template <class Body>
void for_batch_shares(const RnnShape& s, int64_t GU, Body body) {
  const int64_t rows = std::clamp<int64_t>(s.N / num_threads(), 1, kShareRows);
  const int64_t shares = (s.N + rows - 1) / rows;
  parallel_for(shares, rows * s.T * GU * (2 * s.U + 2 * s.I + kGateWork),
               [&](int64_t s0, int64_t s1) {
                 for (int64_t i = s0; i < s1; ++i) body(i * rows, std::min(s.N, (i + 1) * rows));
               });
}

// The weight gradients' sum over the N * T rows is cut at sgemm's own k-blocks (256 rows), one
// part per block, summed in order afterwards: the result is bit for bit that of one GEMM over all
// rows, whatever the thread count. Each part needs its own (I + U + 1, G*U) product, so the parts
// are limited to kWeightGradPartFloats in all; beyond it (wide layers, long batches) the product
// is one GEMM, which sgemm splits by columns (the same result).
constexpr int64_t kWeightGradPartFloats = int64_t{1} << 20;  // 4 MiB

int64_t weight_grad_parts(int64_t rows, int64_t block, int64_t weight_floats) {
  if (block == 0) return 1;
  const int64_t parts = (rows + block - 1) / block;
  return parts * weight_floats <= kWeightGradPartFloats ? parts : 1;
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

void rnn_forward(RnnCell cell, RnnActivations acts, const RnnShape& s,
                 const RnnForwardArgs& a) {
  const int64_t N = s.N, T = s.T, U = s.U, GU = rnn_gate_count(cell) * U;
  const rnn::Kernels& all = cell_kernels();
  const rnn::CellKernels& kernels = all.cells(acts);
  const rnn::ForwardRows kernel = kernels.forward[static_cast<int>(cell)];
  const rnn::Activation act = all.activations[static_cast<int>(acts.activation)];
  const rnn::Activation rec = all.activations[static_cast<int>(acts.recurrent)];
  // A staged cell's first product covers the gate columns before the candidate's (rnn_staged).
  const bool staged = rnn_staged(cell);
  const int64_t first = staged ? GU - U : GU;
  // SimpleRNN's one gate activation is h: its gate kernel works in place in hs.
  float* const gates = rnn_has_aux(cell) ? a.gates : a.hs;
  const std::vector<float> zeros(std::max(N * U, GU), 0.0f);
  const Sequence hs{a.hs, a.h0 ? a.h0 : zeros.data(), T, U};
  const Sequence aux{a.aux, a.c0 ? a.c0 : zeros.data(), T, U};

  for_batch_shares(s, GU, [&](int64_t n0, int64_t n1) {
    // The input projections of all the share's steps in one GEMM; each step adds its recurrent
    // part.
    sgemm(false, false, (n1 - n0) * T, GU, s.I, 1.0f, a.x + n0 * T * s.I, s.I, a.kernel, GU, 0.0f,
          gates + n0 * T * GU, GU);
    Scratch rec_product((n1 - n0) * GU);
    for (int64_t t = 0; t < T; ++t) {
      const Rows<const float> h_prev = from(hs.step(t - 1), n0);
      sgemm(false, false, n1 - n0, first, U, 1.0f, h_prev.p, h_prev.ld, a.recurrent, GU, 0.0f,
            rec_product.data(), GU);
      const rnn::ForwardStep step{U,
                                  from(step_of(gates, T, GU, t), n0),
                                  {rec_product.data(), GU},
                                  h_prev,
                                  from(aux.step(t - 1), n0),
                                  from(step_of(a.aux, T, U, t), n0),
                                  from(step_of(a.hs, T, U, t), n0),
                                  a.bias ? a.bias : zeros.data(),
                                  a.bias_rec ? a.bias_rec : zeros.data(),
                                  from(step_of(a.mask, T, 1, t), n0),
                                  act,
                                  rec};
      kernel(step, 0, n1 - n0);
      if (staged) {  // (r * h_prev) @ the candidate's columns, then the candidate
        sgemm(false, false, n1 - n0, U, U, 1.0f, step.aux.p, step.aux.ld, a.recurrent + first, GU,
              0.0f, rec_product.data() + first, GU);
        kernels.candidate_forward(step, 0, n1 - n0);
      }
    }
    if (a.hs_copy) std::copy_n(a.hs + n0 * T * U, (n1 - n0) * T * U, a.hs_copy + n0 * T * U);
    for (int64_t n = n0; n < n1; ++n) {
      std::copy_n(hs.row(n, T - 1), U, a.h_T + n * U);
      if (a.c_T) std::copy_n(aux.row(n, T - 1), U, a.c_T + n * U);
    }
  });
}

void rnn_backward(RnnCell cell, RnnActivations acts, const RnnShape& s,
                  const RnnBackwardArgs& a) {
  const int64_t N = s.N, T = s.T, I = s.I, U = s.U, GU = rnn_gate_count(cell) * U;
  const rnn::Kernels& all = cell_kernels();
  const rnn::CellKernels& kernels = all.cells(acts);
  const rnn::BackwardRows kernel = kernels.backward[static_cast<int>(cell)];
  const rnn::Activation act = all.activations[static_cast<int>(acts.activation)];
  const rnn::Activation rec = all.activations[static_cast<int>(acts.recurrent)];
  const bool split = rnn::split_recurrent_grad(cell);
  const bool staged = rnn_staged(cell);
  const int64_t first = staged ? GU - U : GU;  // the columns multiplied by h_{t-1} itself
  const float* const gates = rnn_has_aux(cell) ? a.gates : a.hs;
  const std::vector<float> zeros(N * U, 0.0f);
  const Sequence hs{a.hs, a.h0 ? a.h0 : zeros.data(), T, U};
  const Sequence aux{a.aux, a.c0 ? a.c0 : zeros.data(), T, U};

  // Row (n, t) of hb is [h_{t-1} | 1] of batch row n, lined up with x, dgx and dgr: the kernel
  // gradient is x^T @ dgx and the recurrent kernel and bias gradients are hb^T @ dgr, GEMMs over
  // all N * T rows (see below). A staged cell's candidate columns were multiplied by its aux
  // (r * h_{t-1}) instead: their gradients come from ab = [aux | 1].
  const int64_t HB = U + 1, W = I + HB, rows = N * T;
  const int64_t block = sgemm_k_block(rows);
  const int64_t parts = weight_grad_parts(rows, block, W * GU);
  const Workspace ws{GU * U,    rows * GU,    split ? rows * GU : 0, rows * HB,
                     parts * W * GU, staged ? rows * HB : 0};
  float* const recurrent_t = ws[0];
  float* const dgx = ws[1];
  float* const dgr = split ? ws[2] : dgx;
  float* const hb = ws[3];
  float* const dw = ws[4];
  float* const ab = ws[5];

  // The recurrent kernel transposed once: every step's GEMM then reads a row-major (G*U, U)
  // operand instead of packing a transposed one again. In blocks: element by element, every write
  // is to another cache line.
  constexpr int64_t kBlock = 16;
  for (int64_t i0 = 0; i0 < U; i0 += kBlock)
    for (int64_t j0 = 0; j0 < GU; j0 += kBlock)
      for (int64_t i = i0; i < std::min(U, i0 + kBlock); ++i)
        for (int64_t j = j0; j < std::min(GU, j0 + kBlock); ++j)
          recurrent_t[j * U + i] = a.recurrent[i * GU + j];

  for_batch_shares(s, GU, [&](int64_t n0, int64_t n1) {
    // dh0 and dc0 carry the state gradients backwards through the steps.
    copy_or_zero(a.dh_T ? a.dh_T + n0 * U : nullptr, (n1 - n0) * U, a.dh0 + n0 * U);
    if (a.dc0) copy_or_zero(a.dc_T ? a.dc_T + n0 * U : nullptr, (n1 - n0) * U, a.dc0 + n0 * U);
    Scratch daux(staged ? (n1 - n0) * U : 0);  // the staged cell's dL/d(r * h_{t-1})
    for (int64_t t = T - 1; t >= 0; --t) {
      const rnn::BackwardStep step{U,
                                   from(step_of(gates, T, GU, t), n0),
                                   from(aux.step(t), n0),
                                   from(aux.step(t - 1), n0),
                                   from(hs.step(t - 1), n0),
                                   from(step_of(a.dhs, T, U, t), n0),
                                   {a.dh0 + n0 * U, U},
                                   {a.dc0 ? a.dc0 + n0 * U : nullptr, U},
                                   from(step_of(dgx, T, GU, t), n0),
                                   from(step_of(dgr, T, GU, t), n0),
                                   {daux.data(), U},
                                   from(step_of(a.mask, T, 1, t), n0),
                                   act,
                                   rec};
      if (staged) {  // the candidate, then its gradient w.r.t. r * h_{t-1}
        kernels.candidate_backward(step, 0, n1 - n0);
        sgemm(false, false, n1 - n0, U, U, 1.0f, dgx + (n0 * T + t) * GU + first, T * GU,
              recurrent_t + first * U, U, 0.0f, daux.data(), U);
      }
      kernel(step, 0, n1 - n0);
      sgemm(false, false, n1 - n0, U, first, 1.0f, dgr + (n0 * T + t) * GU, T * GU, recurrent_t,
            U, 1.0f, a.dh0 + n0 * U, U);
    }
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t t = 0; t < T; ++t) {
        float* row = &hb[(n * T + t) * HB];
        std::copy_n(hs.row(n, t - 1), U, row);
        row[U] = 1.0f;
        if (staged) {
          float* aux_row = &ab[(n * T + t) * HB];
          std::copy_n(aux.row(n, t), U, aux_row);
          aux_row[U] = 1.0f;
        }
      }
    sgemm(false, true, (n1 - n0) * T, I, GU, 1.0f, dgx + n0 * T * GU, GU, a.kernel, GU, 0.0f,
          a.dx + n0 * T * I, I);
  });

  // The rows of [x | hb]^T @ dg are the kernel (I rows), recurrent kernel (U) and bias (1)
  // gradients. GRU's recurrent projection sees its own dgr: the recurrent kernel and bias
  // gradients come from it, the input bias gradient from dgx (column sums); a staged cell's
  // candidate columns come from ab (see above). The sum over the N * T
  // rows is cut into `parts` at sgemm's k-blocks (weight_grad_parts), one single-threaded pair of
  // GEMMs each, then the parts are added in order. Each thread thus makes the whole
  // (I + U + 1, G*U) product for its rows, reading x, hb and dg once; split by columns, as sgemm
  // would, every thread re-reads all of them.
  // A part's two GEMMs (x^T @ dgx, hb^T @ dgr) are separate tasks: 5 parts (N * T = 1280) on 2
  // threads would leave one thread idle for a whole part. A single part stays one task, whose
  // GEMMs then thread themselves. Each task is its own chunk: parallel_for's grouping would cut
  // 10 tasks into 8 chunks, two of them double, and one thread could wait a whole task while the
  // other finished one.
  const int64_t tasks_per_part = parts == 1 ? 1 : 2;
  const int64_t task_work = rows / parts * W * GU / tasks_per_part;
  parallel_for_each_item(tasks_per_part * parts, task_work, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t p = q / tasks_per_part, r0 = p * block;
      const int64_t r1 = parts == 1 ? rows : std::min(rows, r0 + block);
      float* const part = dw + p * W * GU;
      if (tasks_per_part == 1 || q % 2 == 0)
        sgemm(true, false, I, GU, r1 - r0, 1.0f, a.x + r0 * I, I, dgx + r0 * GU, GU, 0.0f, part,
              GU);
      if (tasks_per_part == 1 || q % 2 == 1) {
        sgemm(true, false, HB, first, r1 - r0, 1.0f, hb + r0 * HB, HB, dgr + r0 * GU, GU, 0.0f,
              part + I * GU, GU);
        if (staged)
          sgemm(true, false, HB, U, r1 - r0, 1.0f, ab + r0 * HB, HB, dgr + r0 * GU + first, GU,
                0.0f, part + I * GU + first, GU);
      }
    }
  });
  parallel_for(W, GU * parts, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      float* const out = w < I       ? a.dkernel + w * GU
                         : w < I + U ? a.drecurrent + (w - I) * GU
                                     : a.dbias + (split ? GU : 0);
      std::copy_n(dw + w * GU, GU, out);
      for (int64_t p = 1; p < parts; ++p) {
        const float* const part = dw + (p * W + w) * GU;
        for (int64_t j = 0; j < GU; ++j) out[j] += part[j];
      }
    }
  });
  if (split) column_sums(dgx, rows, GU, a.dbias);
}

}  // namespace shendu
