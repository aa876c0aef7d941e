// shendu._cuda_kernels: the CUDA kernels as a Python extension module.
//
// Private to shendu/_cuda.py, which validates every argument, allocates the outputs with CuPy and
// passes raw device pointers, sizes and CuPy's current stream as integers. Nothing here knows
// CuPy; nothing here checks shapes again.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <string>

#include "activation.h"
#include "conv.h"
#include "dropout.h"
#include "embedding.h"
#include "losses.h"
#include "optimizers.h"
#include "pool.h"
#include "reduce.h"
#include "rnn.h"
#include "sgemm.h"
#include "softmax.h"

namespace py = pybind11;
using namespace shendu::cuda;

namespace {

using Ptr = uintptr_t;

float* f32(Ptr p) { return reinterpret_cast<float*>(p); }
int64_t* i64(Ptr p) { return reinterpret_cast<int64_t*>(p); }
cudaStream_t stream(Ptr s) { return reinterpret_cast<cudaStream_t>(s); }

template <class Enum>
Enum as_enum(int v, int count, const char* what) {
  if (v < 0 || v >= count)
    throw py::value_error(std::string(what) + ": unknown value " + std::to_string(v));
  return static_cast<Enum>(v);
}

// (N, H, W, C, kh, kw, sh, sw, pt, pl, Ho, Wo), in Window2d's order.
Window2d window(const std::array<int64_t, 12>& v) {
  return {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
}

std::string device_name() {
  int device = 0;
  cudaDeviceProp prop{};
  cudaError_t err = cudaGetDevice(&device);
  if (err == cudaSuccess) err = cudaGetDeviceProperties(&prop, device);
  if (err != cudaSuccess) {
    cudaGetLastError();  // not sticky: leave no error behind for the next launch check
    throw std::runtime_error(cudaGetErrorString(err));
  }
  return std::string(prop.name) + " (compute capability " + std::to_string(prop.major) + "." +
         std::to_string(prop.minor) + ")";
}

}  // namespace

PYBIND11_MODULE(_cuda_kernels, m) {
  m.doc() = "shendu's CUDA kernels on raw device pointers (use shendu.ops with CuPy arrays)";
  m.def("device_name", &device_name, "Name of the current CUDA device; RuntimeError if none.");
  // The CUDA runtime linked in (statically), e.g. 13000 for 13.0: the driver must support it,
  // and CuPy should be the wheel for the same major version.
  m.attr("CUDA_RUNTIME_VERSION") = CUDART_VERSION;

  m.def("sgemm", [](int kernel, bool ta, bool tb, int64_t M, int64_t N, int64_t K, Ptr A,
                    int64_t lda, Ptr B, int64_t ldb, Ptr C, int64_t ldc, Ptr bias, int act, Ptr s) {
    sgemm(as_enum<SgemmKernel>(kernel, 4, "sgemm kernel"), ta, tb, M, N, K, f32(A), lda, f32(B),
          ldb, f32(C), ldc, f32(bias), as_enum<Activation>(act, 4, "activation"), stream(s));
  });
  m.def("activation_forward", [](int act, Ptr x, Ptr y, int64_t n, Ptr s) {
    activation_forward(as_enum<Activation>(act, 4, "activation"), f32(x), f32(y), n, stream(s));
  });
  m.def("activation_backward", [](int act, Ptr dy, Ptr y, Ptr dx, int64_t n, Ptr s) {
    activation_backward(as_enum<Activation>(act, 4, "activation"), f32(dy), f32(y), f32(dx), n,
                        stream(s));
  });
  m.def("softmax_forward", [](Ptr x, Ptr y, int64_t rows, int64_t cols, Ptr s) {
    softmax_forward(f32(x), f32(y), rows, cols, stream(s));
  });
  m.def("softmax_backward", [](Ptr dy, Ptr y, Ptr dx, int64_t rows, int64_t cols, Ptr s) {
    softmax_backward(f32(dy), f32(y), f32(dx), rows, cols, stream(s));
  });

  m.def("column_sum_scratch", &column_sum_scratch);
  m.def("column_sum", [](Ptr x, int64_t rows, int64_t cols, Ptr out, Ptr scratch, Ptr s) {
    column_sum(f32(x), rows, cols, f32(out), f32(scratch), stream(s));
  });
  m.def("sum_to_double_scratch", &sum_to_double_scratch);
  m.def("sum_to_double", [](Ptr x, int64_t n, Ptr out, Ptr scratch, Ptr s) {
    sum_to_double(f32(x), n, reinterpret_cast<double*>(out), reinterpret_cast<double*>(scratch),
                  stream(s));
  });

  m.def("sparse_softmax_cross_entropy", [](Ptr logits, Ptr labels, int64_t rows, int64_t cols,
                                           Ptr grad, Ptr terms, Ptr s) {
    sparse_softmax_cross_entropy(f32(logits), i64(labels), rows, cols, f32(grad), f32(terms),
                                 stream(s));
  });
  m.def("softmax_cross_entropy", [](Ptr logits, Ptr targets, int64_t rows, int64_t cols, Ptr grad,
                                    Ptr terms, Ptr s) {
    softmax_cross_entropy(f32(logits), f32(targets), rows, cols, f32(grad), f32(terms), stream(s));
  });
  m.def("pair_loss", [](int loss, Ptr pred, Ptr targets, int64_t n, Ptr grad, Ptr terms, Ptr s) {
    pair_loss(as_enum<PairLoss>(loss, 3, "loss"), f32(pred), f32(targets), n, f32(grad),
              f32(terms), stream(s));
  });

  m.def("sgd_update", [](Ptr param, Ptr grad, Ptr velocity, int64_t n, float lr, float momentum,
                         bool nesterov, Ptr s) {
    sgd_update(f32(param), f32(grad), f32(velocity), n, lr, momentum, nesterov, stream(s));
  });
  m.def("adam_update", [](Ptr param, Ptr grad, Ptr grad_sq, Ptr m1, Ptr v, int64_t n, float lr_t,
                          float b1, float b2, float eps, Ptr s) {
    adam_update(f32(param), f32(grad), f32(grad_sq), f32(m1), f32(v), n, lr_t, b1, b2, eps,
                stream(s));
  });
  m.def("rmsprop_update", [](Ptr param, Ptr grad, Ptr grad_sq, Ptr avg_sq, int64_t n, float lr,
                             float rho, float eps, Ptr s) {
    rmsprop_update(f32(param), f32(grad), f32(grad_sq), f32(avg_sq), n, lr, rho, eps, stream(s));
  });

  m.def("im2col", [](Ptr x, const std::array<int64_t, 12>& g, Ptr cols, Ptr s) {
    im2col(f32(x), window(g), f32(cols), stream(s));
  });
  m.def("col2im", [](Ptr cols, const std::array<int64_t, 12>& g, Ptr dx, Ptr s) {
    col2im(f32(cols), window(g), f32(dx), stream(s));
  });
  // argmax holds one tap per output: uint8 (index_bytes 1) or uint16 (2), see pool.h.
  m.def("max_pool_forward", [](Ptr x, const std::array<int64_t, 12>& g, Ptr y, Ptr argmax,
                               int index_bytes, Ptr s) {
    if (index_bytes == 1)
      max_pool_forward(f32(x), window(g), f32(y), reinterpret_cast<uint8_t*>(argmax), stream(s));
    else
      max_pool_forward(f32(x), window(g), f32(y), reinterpret_cast<uint16_t*>(argmax), stream(s));
  });
  m.def("max_pool_backward", [](Ptr dy, Ptr argmax, int index_bytes,
                                const std::array<int64_t, 12>& g, Ptr dx, Ptr s) {
    if (index_bytes == 1)
      max_pool_backward(f32(dy), reinterpret_cast<const uint8_t*>(argmax), window(g), f32(dx),
                        stream(s));
    else
      max_pool_backward(f32(dy), reinterpret_cast<const uint16_t*>(argmax), window(g), f32(dx),
                        stream(s));
  });
  m.def("avg_pool_forward", [](Ptr x, const std::array<int64_t, 12>& g, Ptr y, Ptr s) {
    avg_pool_forward(f32(x), window(g), f32(y), stream(s));
  });
  m.def("avg_pool_backward", [](Ptr dy, const std::array<int64_t, 12>& g, Ptr dx, Ptr s) {
    avg_pool_backward(f32(dy), window(g), f32(dx), stream(s));
  });

  m.def("lstm_step_forward", [](Ptr xw, Ptr hu, Ptr c_prev, Ptr gates, Ptr c, Ptr h, int64_t N,
                                int64_t U, int act, int rec, Ptr s) {
    lstm_step_forward(f32(xw), f32(hu), f32(c_prev), f32(gates), f32(c), f32(h), N, U, act, rec,
                      stream(s));
  });
  m.def("lstm_step_backward", [](Ptr dh_out, Ptr dh_rec, Ptr gates, Ptr c, Ptr c_prev, Ptr dc,
                                 Ptr dz, int64_t N, int64_t U, int act, int rec, Ptr s) {
    lstm_step_backward(f32(dh_out), f32(dh_rec), f32(gates), f32(c), f32(c_prev), f32(dc),
                       f32(dz), N, U, act, rec, stream(s));
  });
  m.def("gru_step_forward", [](Ptr xw, Ptr hu, Ptr h_prev, Ptr gates, Ptr h, int64_t N, int64_t U,
                               int act, int rec, Ptr s) {
    gru_step_forward(f32(xw), f32(hu), f32(h_prev), f32(gates), f32(h), N, U, act, rec,
                     stream(s));
  });
  m.def("gru_step_backward", [](Ptr dh_out, Ptr dh_direct, Ptr dh_rec, Ptr gates, Ptr h_prev,
                                Ptr dxw, Ptr dhu, int64_t N, int64_t U, int act, int rec, Ptr s) {
    gru_step_backward(f32(dh_out), f32(dh_direct), f32(dh_rec), f32(gates), f32(h_prev), f32(dxw),
                      f32(dhu), N, U, act, rec, stream(s));
  });
  m.def("gru_gates_step_forward", [](Ptr xw, Ptr hu_zr, Ptr h_prev, Ptr gates, Ptr rh_in,
                                     int64_t N, int64_t U, int rec, Ptr s) {
    gru_gates_step_forward(f32(xw), f32(hu_zr), f32(h_prev), f32(gates), f32(rh_in), N, U, rec,
                           stream(s));
  });
  m.def("gru_candidate_step_forward", [](Ptr xw, Ptr hu_h, Ptr h_prev, Ptr gates, Ptr h,
                                         int64_t N, int64_t U, int act, Ptr s) {
    gru_candidate_step_forward(f32(xw), f32(hu_h), f32(h_prev), f32(gates), f32(h), N, U, act,
                               stream(s));
  });
  m.def("gru_candidate_step_backward", [](Ptr dh_out, Ptr dh_direct, Ptr dh_rec, Ptr gates,
                                          Ptr h_prev, Ptr dzr, Ptr dhh, int64_t N, int64_t U,
                                          int act, int rec, Ptr s) {
    gru_candidate_step_backward(f32(dh_out), f32(dh_direct), f32(dh_rec), f32(gates), f32(h_prev),
                                f32(dzr), f32(dhh), N, U, act, rec, stream(s));
  });
  m.def("gru_gates_step_backward", [](Ptr drh, Ptr h_prev, Ptr gates, Ptr dzr, Ptr dh_direct,
                                      int64_t N, int64_t U, int rec, Ptr s) {
    gru_gates_step_backward(f32(drh), f32(h_prev), f32(gates), f32(dzr), f32(dh_direct), N, U, rec,
                            stream(s));
  });
  m.def("rnn_step_forward", [](Ptr xw, Ptr hu, Ptr h, int64_t N, int64_t U, int act, Ptr s) {
    rnn_step_forward(f32(xw), f32(hu), f32(h), N, U, act, stream(s));
  });
  m.def("rnn_step_backward", [](Ptr dh_out, Ptr dh_rec, Ptr h, Ptr dz, int64_t N, int64_t U,
                                int act, Ptr s) {
    rnn_step_backward(f32(dh_out), f32(dh_rec), f32(h), f32(dz), N, U, act, stream(s));
  });

  m.def("embedding_gather", [](Ptr ids, int64_t n, Ptr table, int64_t dim, Ptr out, Ptr s) {
    embedding_gather(i64(ids), n, f32(table), dim, f32(out), stream(s));
  });
  m.def("embedding_segment_sum", [](Ptr dy, Ptr order, Ptr sorted_ids, int64_t n, int64_t dim,
                                    Ptr dtable, Ptr s) {
    embedding_segment_sum(f32(dy), i64(order), i64(sorted_ids), n, dim, f32(dtable), stream(s));
  });
  m.def("dropout", [](Ptr x, int64_t n, uint64_t seed, double rate, float scale, Ptr y, Ptr mask,
                      Ptr s) { dropout(f32(x), n, seed, rate, scale, f32(y), f32(mask), stream(s)); });
}
