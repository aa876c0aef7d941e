#include "bindings/checks.h"
#include "bindings/families.h"
#include "dropout/dropout.h"

namespace shendu::bind {

namespace {

py::tuple dropout(py::handle x_obj, py::handle rate_obj, py::handle seed_obj) {
  FloatArray x = as_float32(x_obj, "x");
  // Kept in double: the drop test must compare against the same rate as the reference does.
  const double rate = as_finite_double(rate_obj, "rate");
  require(rate >= 0.0 && rate < 1.0,
          "rate: expected a number in [0, 1), got " + std::string(py::repr(rate_obj)));
  const auto seed = static_cast<uint64_t>(as_int(seed_obj, "seed", 0));
  const Shape shape = shape_of(x);
  FloatArray y = new_float32(shape);
  FloatArray mask = new_float32(shape);
  {
    py::gil_scoped_release release;
    dropout_forward(x.data(), x.size(), rate, seed, y.mutable_data(), mask.mutable_data());
  }
  return py::make_tuple(y, mask);
}

}  // namespace

void bind_dropout(py::module_& m) {
  m.def("dropout", &dropout, py::arg("x"), py::arg("rate"), py::arg("seed"));
}

}  // namespace shendu::bind
