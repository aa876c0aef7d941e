#include "bindings/checks.h"
#include "bindings/families.h"
#include "losses/losses.h"

#include <cmath>
#include <string>

namespace shendu::bind {

namespace {

// logits must be (N, C) with at least one class (log-sum-exp of nothing is undefined).
FloatArray as_logits(py::handle obj) {
  FloatArray logits = as_float32(obj, "logits", 2);
  require_shape(logits.shape(1) >= 1, "logits", logits, "(N, C) with C >= 1");
  return logits;
}

py::tuple sparse_softmax_cross_entropy(py::handle logits_obj, py::handle labels_obj) {
  FloatArray logits = as_logits(logits_obj);
  const int64_t N = logits.shape(0), C = logits.shape(1);
  IndexArray labels = as_indices(labels_obj, "labels", C);
  require_shape(labels.ndim() == 1 && labels.shape(0) == N, "labels", labels, [&] {
    return "(N,) matching logits " + shape_str(logits);
  });
  FloatArray grad = new_float32(shape_of(logits));
  double loss;
  {
    py::gil_scoped_release release;
    loss = shendu::sparse_softmax_cross_entropy(logits.data(), labels.data(), N, C,
                                                grad.mutable_data());
  }
  return py::make_tuple(loss, grad);
}

py::tuple softmax_cross_entropy(py::handle logits_obj, py::handle targets_obj) {
  FloatArray logits = as_logits(logits_obj);
  FloatArray targets = as_float32(targets_obj, "onehot");
  require_same_shape(targets, "onehot", logits, "logits");
  FloatArray grad = new_float32(shape_of(logits));
  double loss;
  {
    py::gil_scoped_release release;
    loss = shendu::softmax_cross_entropy(logits.data(), targets.data(), logits.shape(0),
                                         logits.shape(1), grad.mutable_data());
  }
  return py::make_tuple(loss, grad);
}

// The element-wise losses: (a, targets) of any one shape, averaged over all elements.
using ElementwiseLoss = double (*)(const float*, const float*, int64_t, float*);

template <ElementwiseLoss kernel>
py::tuple elementwise(py::handle a_obj, py::handle targets_obj, const char* a_name) {
  FloatArray a = as_float32(a_obj, a_name);
  FloatArray targets = as_float32(targets_obj, "targets");
  require_same_shape(targets, "targets", a, a_name);
  FloatArray grad = new_float32(shape_of(a));
  double loss;
  {
    py::gil_scoped_release release;
    loss = kernel(a.data(), targets.data(), a.size(), grad.mutable_data());
  }
  return py::make_tuple(loss, grad);
}

// Huber's delta: Keras takes any positive float.
py::tuple huber(py::handle pred_obj, py::handle targets_obj, double delta) {
  if (!(delta > 0.0) || !std::isfinite(delta))
    throw py::value_error("delta: expected a positive finite number, got " + std::to_string(delta));
  FloatArray pred = as_float32(pred_obj, "pred");
  FloatArray targets = as_float32(targets_obj, "targets");
  require_same_shape(targets, "targets", pred, "pred");
  FloatArray grad = new_float32(shape_of(pred));
  double loss;
  {
    py::gil_scoped_release release;
    loss = shendu::huber(pred.data(), targets.data(), pred.size(), static_cast<float>(delta),
                         grad.mutable_data());
  }
  return py::make_tuple(loss, grad);
}

}  // namespace

void bind_losses(py::module_& m) {
  m.def("sparse_softmax_cross_entropy", &sparse_softmax_cross_entropy, py::arg("logits"),
        py::arg("labels"));
  m.def("softmax_cross_entropy", &softmax_cross_entropy, py::arg("logits"), py::arg("onehot"));
  m.def("binary_cross_entropy",
        [](py::handle p, py::handle t) {
          return elementwise<shendu::binary_cross_entropy>(p, t, "probs");
        },
        py::arg("probs"), py::arg("targets"));
  m.def("sigmoid_binary_cross_entropy",
        [](py::handle x, py::handle t) {
          return elementwise<shendu::sigmoid_binary_cross_entropy>(x, t, "logits");
        },
        py::arg("logits"), py::arg("targets"));
  m.def("mean_squared_error",
        [](py::handle p, py::handle t) {
          return elementwise<shendu::mean_squared_error>(p, t, "pred");
        },
        py::arg("pred"), py::arg("targets"));
  m.def("mean_absolute_error",
        [](py::handle p, py::handle t) {
          return elementwise<shendu::mean_absolute_error>(p, t, "pred");
        },
        py::arg("pred"), py::arg("targets"));
  m.def("huber", &huber, py::arg("pred"), py::arg("targets"), py::arg("delta") = 1.0);
}

}  // namespace shendu::bind
