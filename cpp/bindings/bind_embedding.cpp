#include "bindings/checks.h"
#include "bindings/families.h"
#include "embedding/embedding.h"

namespace shendu::bind {

namespace {

FloatArray embedding(py::handle ids_obj, py::handle table_obj) {
  FloatArray table = as_float32(table_obj, "table", 2);
  const int64_t V = table.shape(0), D = table.shape(1);
  IndexArray ids = as_indices(ids_obj, "ids", V);
  Shape out_shape = shape_of(ids);
  out_shape.push_back(D);
  FloatArray out = new_float32(out_shape);
  {
    py::gil_scoped_release release;
    embedding_forward(ids.data(), ids.size(), table.data(), D, out.mutable_data());
  }
  return out;
}

FloatArray embedding_backward(py::handle dy_obj, py::handle ids_obj, py::handle vocab_size_obj) {
  const int64_t V = as_int(vocab_size_obj, "vocab_size", 0);
  IndexArray ids = as_indices(ids_obj, "ids", V);
  FloatArray dy = as_float32(dy_obj, "dy", ids.ndim() + 1);
  Shape expected = shape_of(ids);
  const int64_t D = dy.shape(dy.ndim() - 1);
  expected.push_back(D);
  require_shape(shape_of(dy) == expected, "dy", dy, [&] {
    return "ids.shape + (D,) = " + shape_str(expected);
  });
  FloatArray dtable = new_float32({V, D});
  {
    py::gil_scoped_release release;
    shendu::embedding_backward(dy.data(), ids.data(), ids.size(), V, D, dtable.mutable_data());
  }
  return dtable;
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding", &embedding, py::arg("ids"), py::arg("table"));
  m.def("embedding_backward", &embedding_backward, py::arg("dy"), py::arg("ids"),
        py::arg("vocab_size"));
}

}  // namespace shendu::bind
