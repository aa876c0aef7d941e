#include <cstdint>
#include <optional>
#include <string>

#include "bindings/checks.h"
#include "bindings/families.h"
#include "norm/norm.h"

namespace shendu::bind {

namespace {

// x (at least 1-D) viewed as (outer, channels, inner) around `axis` (negative counts from the end).
ChannelShape channel_shape(const FloatArray& x, const char* x_name, py::handle axis_obj) {
  const int64_t ndim = x.ndim();
  require(ndim >= 1, std::string(x_name) + ": expected an array of at least 1 dimension, got shape " +
                         shape_str(x));
  int64_t axis = as_int(axis_obj, "axis", -ndim);
  require(axis < ndim, "axis: expected an axis of x in [" + std::to_string(-ndim) + ", " +
                           std::to_string(ndim) + "), got " + std::to_string(axis));
  if (axis < 0) axis += ndim;
  ChannelShape s{1, x.shape(axis), 1};
  for (int64_t d = 0; d < axis; ++d) s.outer *= x.shape(d);
  for (int64_t d = axis + 1; d < ndim; ++d) s.inner *= x.shape(d);
  return s;
}

// A per-channel vector (C,), or None.
std::optional<FloatArray> channel_vector(py::handle obj, const char* name, int64_t C,
                                         bool allow_none) {
  if (allow_none && obj.is_none()) return std::nullopt;
  FloatArray v = as_float32(obj, name, 1);
  require_shape(v.shape(0) == C, name, v, [&] { return "shape (" + std::to_string(C) + ",)"; });
  return v;
}

const float* data_or_null(const std::optional<FloatArray>& v) {
  return v ? v->data() : nullptr;
}

float as_epsilon(py::handle obj) {
  const float eps = as_finite_float(obj, "epsilon");
  require(eps >= 0.0f, "epsilon: expected a number >= 0, got " + std::string(py::repr(obj)));
  return eps;
}

FloatArray batch_norm(py::handle x_obj, py::handle mean_obj, py::handle var_obj,
                      py::handle gamma_obj, py::handle beta_obj, py::handle eps_obj,
                      py::handle axis_obj) {
  FloatArray x = as_float32(x_obj, "x");
  const ChannelShape s = channel_shape(x, "x", axis_obj);
  const auto mean = channel_vector(mean_obj, "mean", s.channels, false);
  const auto var = channel_vector(var_obj, "variance", s.channels, false);
  const auto gamma = channel_vector(gamma_obj, "gamma", s.channels, true);
  const auto beta = channel_vector(beta_obj, "beta", s.channels, true);
  const float eps = as_epsilon(eps_obj);
  FloatArray y = new_float32_lined(shape_of(x), "x");
  {
    py::gil_scoped_release release;
    batch_norm_infer(s, x.data(), mean->data(), var->data(), data_or_null(gamma),
                     data_or_null(beta), eps, y.mutable_data());
  }
  return y;
}

py::tuple batch_norm_training(py::handle x_obj, py::handle gamma_obj, py::handle beta_obj,
                              py::handle eps_obj, py::handle axis_obj) {
  FloatArray x = as_float32(x_obj, "x");
  const ChannelShape s = channel_shape(x, "x", axis_obj);
  const auto gamma = channel_vector(gamma_obj, "gamma", s.channels, true);
  const auto beta = channel_vector(beta_obj, "beta", s.channels, true);
  const float eps = as_epsilon(eps_obj);
  FloatArray y = new_float32_lined(shape_of(x), "x");
  FloatArray mean = new_float32({s.channels}), var = new_float32({s.channels});
  {
    py::gil_scoped_release release;
    batch_norm_train(s, x.data(), data_or_null(gamma), data_or_null(beta), eps, y.mutable_data(),
                     mean.mutable_data(), var.mutable_data());
  }
  return py::make_tuple(y, mean, var);
}

py::tuple batch_norm_backward(py::handle dy_obj, py::handle x_obj, py::handle gamma_obj,
                              py::handle mean_obj, py::handle var_obj, py::handle eps_obj,
                              py::handle axis_obj) {
  FloatArray dy = as_float32(dy_obj, "dy");
  FloatArray x = as_float32(x_obj, "x");
  require_same_shape(dy, "dy", x, "x");
  const ChannelShape s = channel_shape(x, "x", axis_obj);
  const auto gamma = channel_vector(gamma_obj, "gamma", s.channels, true);
  const auto mean = channel_vector(mean_obj, "mean", s.channels, false);
  const auto var = channel_vector(var_obj, "variance", s.channels, false);
  const float eps = as_epsilon(eps_obj);
  FloatArray dx = new_float32_lined(shape_of(x), "x");
  FloatArray dgamma = new_float32({s.channels}), dbeta = new_float32({s.channels});
  {
    py::gil_scoped_release release;
    shendu::batch_norm_backward(s, dy.data(), x.data(), data_or_null(gamma), mean->data(),
                                var->data(), eps, dx.mutable_data(), dgamma.mutable_data(),
                                dbeta.mutable_data());
  }
  return py::make_tuple(dx, dgamma, dbeta);
}

// (rows, width) of x normalized over its last axis; the shape of its per-row statistics.
std::pair<int64_t, int64_t> rows_of(const FloatArray& x, const char* name) {
  require(x.ndim() >= 1, std::string(name) +
                             ": expected an array of at least 1 dimension, got shape " +
                             shape_str(x));
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < x.ndim(); ++d) rows *= x.shape(d);
  return {rows, x.shape(x.ndim() - 1)};
}

Shape row_shape(const FloatArray& x) { return Shape(x.shape(), x.shape() + x.ndim() - 1); }

std::optional<FloatArray> row_stats(py::handle obj, const char* name, const FloatArray& x) {
  FloatArray v = as_float32(obj, name);
  require_shape(shape_of(v) == row_shape(x), name, v, [&] {
    return "shape " + shape_str(row_shape(x)) + " (x's shape without its last axis)";
  });
  return v;
}

py::tuple layer_norm(py::handle x_obj, py::handle gamma_obj, py::handle beta_obj,
                     py::handle eps_obj) {
  FloatArray x = as_float32(x_obj, "x");
  const auto [rows, width] = rows_of(x, "x");
  const auto gamma = channel_vector(gamma_obj, "gamma", x.shape(x.ndim() - 1), true);
  const auto beta = channel_vector(beta_obj, "beta", x.shape(x.ndim() - 1), true);
  const float eps = as_epsilon(eps_obj);
  FloatArray y = new_float32_lined(shape_of(x), "x");
  FloatArray mean = new_float32(row_shape(x)), rstd = new_float32(row_shape(x));
  {
    py::gil_scoped_release release;
    layer_norm_forward(rows, width, x.data(), data_or_null(gamma), data_or_null(beta), eps,
                       y.mutable_data(), mean.mutable_data(), rstd.mutable_data());
  }
  return py::make_tuple(y, mean, rstd);
}

py::tuple layer_norm_backward(py::handle dy_obj, py::handle x_obj, py::handle gamma_obj,
                              py::handle mean_obj, py::handle rstd_obj) {
  FloatArray dy = as_float32(dy_obj, "dy");
  FloatArray x = as_float32(x_obj, "x");
  require_same_shape(dy, "dy", x, "x");
  const auto [rows, width] = rows_of(x, "x");
  const auto gamma = channel_vector(gamma_obj, "gamma", x.shape(x.ndim() - 1), true);
  const auto mean = row_stats(mean_obj, "mean", x);
  const auto rstd = row_stats(rstd_obj, "rstd", x);
  FloatArray dx = new_float32_lined(shape_of(x), "x");
  const int64_t w = x.shape(x.ndim() - 1);
  FloatArray dgamma = new_float32({w}), dbeta = new_float32({w});
  {
    py::gil_scoped_release release;
    shendu::layer_norm_backward(rows, width, dy.data(), x.data(), data_or_null(gamma),
                                mean->data(), rstd->data(), dx.mutable_data(),
                                dgamma.mutable_data(), dbeta.mutable_data());
  }
  return py::make_tuple(dx, dgamma, dbeta);
}

}  // namespace

void bind_norm(py::module_& m) {
  m.def("batch_norm", &batch_norm, py::arg("x"), py::arg("mean"), py::arg("variance"),
        py::arg("gamma") = py::none(), py::arg("beta") = py::none(), py::arg("epsilon") = 1e-3,
        py::arg("axis") = -1);
  m.def("batch_norm_training", &batch_norm_training, py::arg("x"), py::arg("gamma") = py::none(),
        py::arg("beta") = py::none(), py::arg("epsilon") = 1e-3, py::arg("axis") = -1);
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("dy"), py::arg("x"),
        py::arg("gamma"), py::arg("mean"), py::arg("variance"), py::arg("epsilon") = 1e-3,
        py::arg("axis") = -1);
  m.def("layer_norm", &layer_norm, py::arg("x"), py::arg("gamma") = py::none(),
        py::arg("beta") = py::none(), py::arg("epsilon") = 1e-3);
  m.def("layer_norm_backward", &layer_norm_backward, py::arg("dy"), py::arg("x"),
        py::arg("gamma"), py::arg("mean"), py::arg("rstd"));
}

}  // namespace shendu::bind
