#include <cstdint>
#include <optional>
#include <string>

#include "activations/activations.h"
#include "bindings/checks.h"
#include "bindings/families.h"
#include "dense/dense.h"
#include "gemm/gemm.h"

namespace shendu::bind {

namespace {

// Products of at least this many flops (a few microseconds on one core) release the GIL and write
// a 64-byte aligned C (new_float32_lined); smaller ones do neither, each costing ~0.1 us.
constexpr int64_t kBigProductFlops = int64_t{1} << 20;

// The output of a product of `flops`: cache-line aligned when it is big (see kBigProductFlops).
FloatArray product_output(const Shape& shape, int64_t flops, const char* name) {
  return flops >= kBigProductFlops ? new_float32_lined(shape, name) : new_float32(shape);
}

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
  const int64_t flops = 2 * M * N * K;
  FloatArray c = product_output({M, N}, flops, "a");
  // Releasing the GIL (and taking it back) costs ~0.1 us, a visible share of a tiny product:
  // products of a few microseconds keep it (other Python threads wait no longer than for a Python
  // op).
  std::optional<py::gil_scoped_release> release;
  if (flops >= kBigProductFlops) release.emplace();
  sgemm(trans_a, trans_b, M, N, K, 1.0f, a.data(), a.shape(1), b.data(), b.shape(1), 0.0f,
        c.mutable_data(), N);
  return c;
}

constexpr const char* kActivationNames = "'linear', 'relu', 'sigmoid', 'tanh' or 'softmax'";

// Keras's names; None means linear, as in keras.layers.Dense(activation=None).
Activation as_activation(py::handle obj) {
  if (obj.is_none()) return Activation::Linear;
  if (!py::isinstance<py::str>(obj))
    throw py::type_error(std::string("activation: expected ") + kActivationNames + ", got " +
                         std::string(py::repr(obj)));
  const std::string name = obj.cast<std::string>();
  if (name == "linear") return Activation::Linear;
  if (name == "relu") return Activation::Relu;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "tanh") return Activation::Tanh;
  if (name == "softmax") return Activation::Softmax;
  throw py::value_error(std::string("activation: expected ") + kActivationNames + ", got '" +
                        name + "'");
}

// rows x cols view of a contiguous array, cols = the last axis (1 for a scalar).
std::pair<int64_t, int64_t> rows_cols(const FloatArray& a) {
  const int64_t cols = a.ndim() ? a.shape(a.ndim() - 1) : 1;
  return {cols ? a.size() / cols : 0, cols};
}

FloatArray activation_forward(py::handle x_obj, Activation act) {
  FloatArray x = as_float32(x_obj, "x");
  require_shape(act != Activation::Softmax || x.ndim() >= 1, "x", x,
                "an array of at least 1 dimension (softmax runs over the last axis)");
  FloatArray y = new_float32(shape_of(x));
  const auto [rows, cols] = rows_cols(x);
  {
    py::gil_scoped_release release;
    activate(act, x.data(), nullptr, y.mutable_data(), rows, cols);
  }
  return y;
}

FloatArray activation_backward(py::handle dy_obj, py::handle y_obj, Activation act) {
  FloatArray dy = as_float32(dy_obj, "dy");
  FloatArray y = as_float32(y_obj, "y");
  require_shape(act != Activation::Softmax || dy.ndim() >= 1, "dy", dy,
                "an array of at least 1 dimension (softmax runs over the last axis)");
  require_shape(shape_of(y) == shape_of(dy), "y", y, [&] {
    return "the shape of dy " + shape_str(dy);
  });
  FloatArray dx = new_float32(shape_of(dy));
  const auto [rows, cols] = rows_cols(dy);
  {
    py::gil_scoped_release release;
    activate_backward(act, dy.data(), y.data(), dx.mutable_data(), rows, cols);
  }
  return dx;
}

FloatArray dense(py::handle x_obj, py::handle w_obj, py::handle b_obj, py::handle act_obj) {
  const Activation act = as_activation(act_obj);
  FloatArray x = as_float32(x_obj, "x", 2);
  FloatArray w = as_float32(w_obj, "w", 2);
  std::optional<FloatArray> b = as_float32_or_none(b_obj, "b", 1);
  const int64_t n = x.shape(0), in = x.shape(1), out = w.shape(1);
  require_shape(w.shape(0) == in, "w", w, [&] {
    return "(" + std::to_string(in) + ", out) to match x " + shape_str(x);
  });
  if (b) require_shape(b->shape(0) == out, "b", *b, [&] {
    return "(" + std::to_string(out) + ",) to match w " + shape_str(w);
  });
  FloatArray y = product_output({n, out}, 2 * n * in * out, "x");
  {
    py::gil_scoped_release release;
    dense_forward(x.data(), w.data(), b ? b->data() : nullptr, y.mutable_data(), n, in, out, act);
  }
  return y;
}

py::tuple dense_backward(py::handle dy_obj, py::handle x_obj, py::handle w_obj, py::handle y_obj,
                         py::handle act_obj, py::handle need_dx_obj) {
  const Activation act = as_activation(act_obj);
  const bool need_dx = as_bool(need_dx_obj, "need_dx");
  FloatArray dy = as_float32(dy_obj, "dy", 2);
  FloatArray x = as_float32(x_obj, "x", 2);
  FloatArray w = as_float32(w_obj, "w", 2);
  FloatArray y = as_float32(y_obj, "y", 2);
  const int64_t n = x.shape(0), in = x.shape(1), out = w.shape(1);
  require_shape(w.shape(0) == in, "w", w, [&] {
    return "(" + std::to_string(in) + ", out) to match x " + shape_str(x);
  });
  require_shape(shape_of(dy) == Shape{n, out}, "dy", dy, [&] {
    return shape_str(Shape{n, out}) + " from x " + shape_str(x) + " and w " + shape_str(w);
  });
  require_shape(shape_of(y) == Shape{n, out}, "y", y, [&] {
    return shape_str(Shape{n, out}) + ", the shape of dy";
  });
  std::optional<FloatArray> dx;
  if (need_dx) dx = product_output({n, in}, 2 * n * in * out, "x");
  FloatArray dw = product_output({in, out}, 2 * n * in * out, "w");
  FloatArray db = new_float32({out});
  {
    py::gil_scoped_release release;
    shendu::dense_backward(dy.data(), x.data(), w.data(), y.data(),
                           dx ? dx->mutable_data() : nullptr, dw.mutable_data(),
                           db.mutable_data(), n, in, out, act);
  }
  return py::make_tuple(dx ? py::object(*dx) : py::object(py::none()), dw, db);
}

// The elementwise activations of activations.h's Pointwise, by the names shendu.ops takes, with
// the alpha Keras's function defaults to (None picks it): elu's 1.0, leaky_relu's 0.2.
struct PointwiseName {
  const char* name;
  Pointwise f;
  float default_alpha;
};
constexpr PointwiseName kPointwise[] = {
    {"gelu", Pointwise::Gelu, 0.0f},
    {"gelu_approximate", Pointwise::GeluTanh, 0.0f},
    {"silu", Pointwise::Silu, 0.0f},
    {"elu", Pointwise::Elu, 1.0f},
    {"selu", Pointwise::Selu, 0.0f},
    {"softplus", Pointwise::Softplus, 0.0f},
    {"softsign", Pointwise::Softsign, 0.0f},
    {"hard_sigmoid", Pointwise::HardSigmoid, 0.0f},
    {"hard_silu", Pointwise::HardSilu, 0.0f},
    {"leaky_relu", Pointwise::LeakyRelu, 0.2f},
    {"exponential", Pointwise::Exponential, 0.0f},
    {"relu6", Pointwise::Relu6, 0.0f},
    {"mish", Pointwise::Mish, 0.0f},
};

std::pair<Pointwise, float> as_pointwise(py::handle name_obj, py::handle alpha_obj) {
  const bool is_str = py::isinstance<py::str>(name_obj);
  if (is_str) {
    const std::string name = name_obj.cast<std::string>();
    for (const PointwiseName& p : kPointwise) {
      if (name == p.name)
        return {p.f, alpha_obj.is_none() ? p.default_alpha : as_finite_float(alpha_obj, "alpha")};
    }
  }
  std::string names;
  for (const PointwiseName& p : kPointwise)
    names += std::string(names.empty() ? "'" : ", '") + p.name + "'";
  const std::string message = "name: expected one of " + names + ", got " +
                              std::string(py::repr(name_obj));
  if (is_str) throw py::value_error(message);
  throw py::type_error(message);
}

FloatArray pointwise_forward(py::handle x_obj, py::handle name_obj, py::handle alpha_obj) {
  const auto [f, alpha] = as_pointwise(name_obj, alpha_obj);
  FloatArray x = as_float32(x_obj, "x");
  FloatArray y = new_float32(shape_of(x));
  {
    py::gil_scoped_release release;
    pointwise(f, alpha, x.data(), y.mutable_data(), x.size());
  }
  return y;
}

FloatArray pointwise_backward(py::handle dy_obj, py::handle x_obj, py::handle y_obj,
                              py::handle name_obj, py::handle alpha_obj) {
  const auto [f, alpha] = as_pointwise(name_obj, alpha_obj);
  FloatArray dy = as_float32(dy_obj, "dy");
  FloatArray x = as_float32(x_obj, "x");
  FloatArray y = as_float32(y_obj, "y");
  require_same_shape(x, "x", dy, "dy");
  require_same_shape(y, "y", dy, "dy");
  FloatArray dx = new_float32(shape_of(dy));
  {
    py::gil_scoped_release release;
    shendu::pointwise_backward(f, alpha, dy.data(), x.data(), y.data(), dx.mutable_data(),
                               dy.size());
  }
  return dx;
}

}  // namespace

void bind_dense(py::module_& m) {
  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("trans_a") = false,
        py::arg("trans_b") = false);
  m.def("dense", &dense, py::arg("x"), py::arg("w"), py::arg("b") = py::none(),
        py::arg("activation") = "linear");
  m.def("dense_backward", &dense_backward, py::arg("dy"), py::arg("x"), py::arg("w"),
        py::arg("y"), py::arg("activation") = "linear", py::arg("need_dx") = true);
  const std::pair<const char*, Activation> activations[] = {{"relu", Activation::Relu},
                                                            {"sigmoid", Activation::Sigmoid},
                                                            {"tanh", Activation::Tanh},
                                                            {"softmax", Activation::Softmax}};
  for (const auto& [name, act] : activations) {
    m.def(name, [act = act](py::handle x) { return activation_forward(x, act); }, py::arg("x"));
    m.def((std::string(name) + "_backward").c_str(),
          [act = act](py::handle dy, py::handle y) { return activation_backward(dy, y, act); },
          py::arg("dy"), py::arg("y"));
  }
  m.def("activation", &pointwise_forward, py::arg("x"), py::arg("name"),
        py::arg("alpha") = py::none());
  m.def("activation_backward", &pointwise_backward, py::arg("dy"), py::arg("x"), py::arg("y"),
        py::arg("name"), py::arg("alpha") = py::none());
}

}  // namespace shendu::bind
