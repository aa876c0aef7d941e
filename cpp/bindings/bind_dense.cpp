#include "checks.h"
#include "families.h"
#include "gemm.h"

namespace shendu::bind {

namespace {

FloatArray matmul(py::handle a_obj, py::handle b_obj, bool trans_a, bool trans_b) {
  FloatArray a = as_float32(a_obj, "a", 2);
  FloatArray b = as_float32(b_obj, "b", 2);
  const int64_t M = trans_a ? a.shape(1) : a.shape(0);
  const int64_t K = trans_a ? a.shape(0) : a.shape(1);
  const int64_t Kb = trans_b ? b.shape(1) : b.shape(0);
  const int64_t N = trans_b ? b.shape(0) : b.shape(1);
  if (K != Kb)
    throw py::value_error("matmul: inner dimensions differ: a " + shape_str(a) + " (trans_a=" +
                          (trans_a ? "True" : "False") + ") and b " + shape_str(b) +
                          " (trans_b=" + (trans_b ? "True" : "False") + ")");
  FloatArray c = new_float32({M, N});
  {
    py::gil_scoped_release release;
    sgemm(trans_a, trans_b, M, N, K, 1.0f, a.data(), a.shape(1), b.data(), b.shape(1), 0.0f,
          c.mutable_data(), N);
  }
  return c;
}

}  // namespace

void bind_dense(py::module_& m) {
  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("trans_a") = false,
        py::arg("trans_b") = false);
}

}  // namespace shendu::bind
