#include <string>

#include "bindings/checks.h"
#include "bindings/families.h"
#include "rnn/rnn.h"

namespace shendu::bind {

namespace {

const char* cell_name(RnnCell cell) {
  return cell == RnnCell::Lstm ? "lstm" : cell == RnnCell::Simple ? "simple_rnn" : "gru";
}

RnnCell gru_cell(bool reset_after) { return reset_after ? RnnCell::Gru : RnnCell::GruResetBefore; }

// Keras's names, in RnnActivation order.
constexpr const char* kActivationNames[kRnnActivationCount] = {"tanh", "sigmoid", "relu",
                                                               "hard_sigmoid", "linear"};

RnnActivation check_activation(py::handle obj, const char* name) {
  std::string accepted;
  for (const char* a : kActivationNames)
    accepted += std::string(accepted.empty() ? "'" : ", '") + a + "'";
  if (!py::isinstance<py::str>(obj))
    throw py::type_error(std::string(name) + ": expected a str (one of " + accepted + "), got " +
                         Py_TYPE(obj.ptr())->tp_name);
  const std::string value = obj.cast<std::string>();
  for (int i = 0; i < kRnnActivationCount; ++i)
    if (value == kActivationNames[i]) return static_cast<RnnActivation>(i);
  throw py::value_error(std::string(name) + ": expected one of " + accepted + ", got '" + value +
                        "'");
}

RnnActivations check_activations(py::handle activation, py::handle recurrent_activation) {
  return {check_activation(activation, "activation"),
          check_activation(recurrent_activation, "recurrent_activation")};
}

// x, kernel and recurrent_kernel, checked against each other: x (N, T, I), kernel (I, G*U),
// recurrent_kernel (U, G*U).
struct Inputs {
  FloatArray x, kernel, recurrent;
  RnnShape shape;
};

Inputs check_inputs(RnnCell cell, py::handle x_obj, py::handle kernel_obj,
                    py::handle recurrent_obj) {
  const int G = rnn_gate_count(cell);
  const std::string gu = G == 1 ? "U" : std::to_string(G) + "U";
  Inputs in{as_float32(x_obj, "x", 3), as_float32(kernel_obj, "kernel", 2),
            as_float32(recurrent_obj, "recurrent_kernel", 2), {}};
  const int64_t U = in.recurrent.shape(0), I = in.x.shape(2);
  require_shape(U >= 1 && in.recurrent.shape(1) == G * U, "recurrent_kernel", in.recurrent, [&] {
    return "(units, " + gu + ") with units >= 1";
  });
  require(I >= 1, std::string("x: expected at least one feature, got shape ") + shape_str(in.x));
  require_shape(in.kernel.shape(0) == I && in.kernel.shape(1) == G * U, "kernel", in.kernel, [&] {
    return shape_str(Shape{I, G * U}) + " = (I, " + gu + ") for x " + shape_str(in.x) +
           " and recurrent_kernel " + shape_str(in.recurrent);
  });
  in.shape = {in.x.shape(0), in.x.shape(1), I, U};
  return in;
}

// An (N, U) state (h0, c0, dh_T, dc_T) or None.
std::optional<FloatArray> check_state(py::handle obj, const char* name, const RnnShape& s) {
  auto a = as_float32_or_none(obj, name, 2);
  if (a)
    require_shape(a->shape(0) == s.N && a->shape(1) == s.U, name, *a, [&] {
      return shape_str(Shape{s.N, s.U}) + " = (batch, units)";
    });
  return a;
}

// The (N, T) step mask or None: a step whose entry is 0 keeps the previous states.
std::optional<FloatArray> check_mask(py::handle obj, const RnnShape& s) {
  auto m = as_float32_or_none(obj, "mask", 2);
  if (m)
    require_shape(m->shape(0) == s.N && m->shape(1) == s.T, "mask", *m, [&] {
      return shape_str(Shape{s.N, s.T}) + " = (batch, steps)";
    });
  return m;
}

const float* data_or_null(const std::optional<FloatArray>& a) { return a ? a->data() : nullptr; }

// The cache a forward returns: (gates (N, T, G*U), aux (N, T, U), hs) when the cell has aux,
// else (hs,). The forward's own arrays, so the backward reads exactly what the forward wrote.
struct Cache {
  FloatArray gates, aux, hs;
};

Cache new_cache(RnnCell cell, const RnnShape& s) {
  const int64_t G = rnn_gate_count(cell);
  Cache c;
  c.hs = new_float32({s.N, s.T, s.U});
  if (rnn_has_aux(cell)) {
    c.gates = new_float32({s.N, s.T, G * s.U});
    c.aux = new_float32({s.N, s.T, s.U});
  }
  return c;
}

py::tuple cache_tuple(RnnCell cell, const Cache& c) {
  if (rnn_has_aux(cell)) return py::make_tuple(c.gates, c.aux, c.hs);
  return py::make_tuple(c.hs);
}

// A cache handed back: it must be the tuple the forward of this cell returned for these shapes,
// so that no kernel reads past an array.
Cache check_cache(RnnCell cell, py::handle obj, const RnnShape& s) {
  const bool aux = rnn_has_aux(cell);
  const size_t count = aux ? 3 : 1;
  const std::string what = std::string("cache: expected the tuple of ") +
                           std::to_string(count) + " arrays that " + cell_name(cell) +
                           " returned";
  if (!py::isinstance<py::tuple>(obj)) throw py::type_error(what);
  py::tuple t = py::reinterpret_borrow<py::tuple>(obj);
  if (t.size() != count) throw py::type_error(what + ", got " + std::to_string(t.size()) + " items");
  const int64_t G = rnn_gate_count(cell);
  auto item = [&](size_t i, int64_t width) {
    const std::string name = "cache[" + std::to_string(i) + "]";
    if (!py::isinstance<py::array>(t[i])) throw py::type_error(what + "; " + name + " is not an array");
    FloatArray a = as_float32(t[i], name.c_str(), 3);
    const auto expected = [&] {
      return shape_str(Shape{s.N, s.T, width}) + " (as " + cell_name(cell) + " returned it)";
    };
    require_shape(a.shape(0) == s.N && a.shape(1) == s.T && a.shape(2) == width, name.c_str(), a,
                  expected);
    return a;
  };
  Cache c;
  if (aux) {
    c.gates = item(0, G * s.U);
    c.aux = item(1, s.U);
    c.hs = item(2, s.U);
  } else {
    c.hs = item(0, s.U);
  }
  return c;
}

// Bias: (G*U,) for LSTM, SimpleRNN and GRU reset_after=False; (2, 3U) for GRU reset_after=True
// (input bias, recurrent bias).
std::optional<FloatArray> check_bias(RnnCell cell, py::handle obj, const RnnShape& s) {
  const int64_t GU = rnn_gate_count(cell) * s.U;
  if (cell == RnnCell::Gru) {
    auto b = as_float32_or_none(obj, "bias", 2);
    if (b) require_shape(b->shape(0) == 2 && b->shape(1) == GU, "bias", *b, [&] {
      return shape_str(Shape{2, GU});
    });
    return b;
  }
  auto b = as_float32_or_none(obj, "bias", 1);
  if (b) require_shape(b->shape(0) == GU, "bias", *b, [&] { return shape_str(Shape{GU}); });
  return b;
}

// Returns (hs, h_T, c_T (LSTM only), cache).
py::tuple forward(RnnCell cell, RnnActivations acts, py::handle x, py::handle kernel,
                  py::handle recurrent, py::handle bias, py::handle h0_obj, py::handle c0_obj,
                  py::handle mask_obj) {
  Inputs in = check_inputs(cell, x, kernel, recurrent);
  const RnnShape& s = in.shape;
  auto b = check_bias(cell, bias, s);
  auto h0 = check_state(h0_obj, "h0", s);
  auto c0 = check_state(c0_obj, "c0", s);
  auto mask = check_mask(mask_obj, s);
  Cache cache = new_cache(cell, s);
  FloatArray h_T = new_float32({s.N, s.U});
  const bool lstm = cell == RnnCell::Lstm;
  FloatArray c_T = new_float32({lstm ? s.N : 0, s.U});
  const bool gru = cell == RnnCell::Gru;
  // The caller gets its own hs: changing it in place must not change what the backward reads.
  FloatArray hs = new_float32(shape_of(cache.hs));
  RnnForwardArgs args{in.x.data(),
                      in.kernel.data(),
                      in.recurrent.data(),
                      data_or_null(b),
                      gru && b ? b->data() + rnn_gate_count(cell) * s.U : nullptr,
                      data_or_null(h0),
                      lstm ? data_or_null(c0) : nullptr,
                      cache.hs.mutable_data(),
                      hs.mutable_data(),
                      h_T.mutable_data(),
                      lstm ? c_T.mutable_data() : nullptr,
                      rnn_has_aux(cell) ? cache.gates.mutable_data() : nullptr,
                      rnn_has_aux(cell) ? cache.aux.mutable_data() : nullptr,
                      data_or_null(mask)};
  {
    py::gil_scoped_release release;
    rnn_forward(cell, acts, s, args);
  }
  if (lstm) return py::make_tuple(hs, h_T, c_T, cache_tuple(cell, cache));
  return py::make_tuple(hs, h_T, cache_tuple(cell, cache));
}

// Returns (dx, dkernel, drecurrent_kernel, dbias, dh0, dc0 (LSTM only)).
py::tuple backward(RnnCell cell, RnnActivations acts, py::handle dhs_obj, py::handle dh_T_obj,
                   py::handle dc_T_obj, py::handle x, py::handle kernel, py::handle recurrent,
                   py::handle cache_obj, py::handle h0_obj, py::handle c0_obj,
                   py::handle mask_obj) {
  Inputs in = check_inputs(cell, x, kernel, recurrent);
  const RnnShape& s = in.shape;
  FloatArray dhs = as_float32(dhs_obj, "dhs", 3);
  require_shape(dhs.shape(0) == s.N && dhs.shape(1) == s.T && dhs.shape(2) == s.U, "dhs", dhs, [&] {
    return shape_str(Shape{s.N, s.T, s.U}) + " = (batch, steps, units)";
  });
  auto dh_T = check_state(dh_T_obj, "dh_T", s);
  auto dc_T = check_state(dc_T_obj, "dc_T", s);
  Cache cache = check_cache(cell, cache_obj, s);
  auto h0 = check_state(h0_obj, "h0", s);
  auto c0 = check_state(c0_obj, "c0", s);
  auto mask = check_mask(mask_obj, s);
  const int64_t GU = rnn_gate_count(cell) * s.U;
  const bool lstm = cell == RnnCell::Lstm, gru = cell == RnnCell::Gru;
  FloatArray dx = new_float32({s.N, s.T, s.I});
  FloatArray dkernel = new_float32({s.I, GU});
  FloatArray drecurrent = new_float32({s.U, GU});
  FloatArray dbias = gru ? new_float32({2, GU}) : new_float32({GU});
  FloatArray dh0 = new_float32({s.N, s.U});
  FloatArray dc0 = new_float32({lstm ? s.N : 0, s.U});
  RnnBackwardArgs args{dhs.data(),
                       data_or_null(dh_T),
                       lstm ? data_or_null(dc_T) : nullptr,
                       in.x.data(),
                       in.kernel.data(),
                       in.recurrent.data(),
                       rnn_has_aux(cell) ? cache.gates.data() : nullptr,
                       rnn_has_aux(cell) ? cache.aux.data() : nullptr,
                       cache.hs.data(),
                       data_or_null(h0),
                       lstm ? data_or_null(c0) : nullptr,
                       dx.mutable_data(),
                       dkernel.mutable_data(),
                       drecurrent.mutable_data(),
                       dbias.mutable_data(),
                       dh0.mutable_data(),
                       lstm ? dc0.mutable_data() : nullptr,
                       data_or_null(mask)};
  {
    py::gil_scoped_release release;
    rnn_backward(cell, acts, s, args);
  }
  if (lstm) return py::make_tuple(dx, dkernel, drecurrent, dbias, dh0, dc0);
  return py::make_tuple(dx, dkernel, drecurrent, dbias, dh0);
}

}  // namespace

void bind_rnn(py::module_& m) {
  const auto none = py::none();
  m.def("lstm",
        [](py::handle x, py::handle k, py::handle r, py::handle b, py::handle h0, py::handle c0,
           py::handle mask, py::handle act, py::handle rec_act) {
          return forward(RnnCell::Lstm, check_activations(act, rec_act), x, k, r, b, h0, c0, mask);
        },
        py::arg("x"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("h0") = none, py::arg("c0") = none, py::arg("mask") = none,
        py::arg("activation") = "tanh", py::arg("recurrent_activation") = "sigmoid");
  m.def("lstm_backward",
        [](py::handle dhs, py::handle dh_T, py::handle dc_T, py::handle x, py::handle k,
           py::handle r, py::handle cache, py::handle h0, py::handle c0, py::handle mask,
           py::handle act, py::handle rec_act) {
          return backward(RnnCell::Lstm, check_activations(act, rec_act), dhs, dh_T, dc_T, x, k,
                          r, cache, h0, c0, mask);
        },
        py::arg("dhs"), py::arg("dh_T"), py::arg("dc_T"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("cache"), py::arg("h0") = none,
        py::arg("c0") = none, py::arg("mask") = none, py::arg("activation") = "tanh",
        py::arg("recurrent_activation") = "sigmoid");
  m.def("gru",
        [](py::handle x, py::handle k, py::handle r, py::handle b, py::handle h0, py::handle mask,
           bool reset_after, py::handle act, py::handle rec_act) {
          return forward(gru_cell(reset_after), check_activations(act, rec_act), x, k, r, b, h0,
                         py::none(), mask);
        },
        py::arg("x"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("h0") = none, py::arg("mask") = none, py::arg("reset_after") = true,
        py::arg("activation") = "tanh", py::arg("recurrent_activation") = "sigmoid");
  m.def("gru_backward",
        [](py::handle dhs, py::handle dh_T, py::handle x, py::handle k, py::handle r,
           py::handle cache, py::handle h0, py::handle mask, bool reset_after, py::handle act,
           py::handle rec_act) {
          return backward(gru_cell(reset_after), check_activations(act, rec_act), dhs, dh_T,
                          py::none(), x, k, r, cache, h0, py::none(), mask);
        },
        py::arg("dhs"), py::arg("dh_T"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("cache"), py::arg("h0") = none,
        py::arg("mask") = none, py::arg("reset_after") = true, py::arg("activation") = "tanh",
        py::arg("recurrent_activation") = "sigmoid");
  // SimpleRNN has no gates: only `activation`.
  m.def("simple_rnn",
        [](py::handle x, py::handle k, py::handle r, py::handle b, py::handle h0, py::handle mask,
           py::handle act) {
          return forward(RnnCell::Simple, {check_activation(act, "activation")}, x, k, r, b, h0,
                         py::none(), mask);
        },
        py::arg("x"), py::arg("kernel"), py::arg("recurrent_kernel"), py::arg("bias"),
        py::arg("h0") = none, py::arg("mask") = none, py::arg("activation") = "tanh");
  m.def("simple_rnn_backward",
        [](py::handle dhs, py::handle dh_T, py::handle x, py::handle k, py::handle r,
           py::handle cache, py::handle h0, py::handle mask, py::handle act) {
          return backward(RnnCell::Simple, {check_activation(act, "activation")}, dhs, dh_T,
                          py::none(), x, k, r, cache, h0, py::none(), mask);
        },
        py::arg("dhs"), py::arg("dh_T"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("cache"), py::arg("h0") = none,
        py::arg("mask") = none, py::arg("activation") = "tanh");
}

}  // namespace shendu::bind
