#include "bindings/checks.h"
#include "bindings/families.h"
#include "bindings/window_args.h"
#include "conv/conv2d.h"

namespace shendu::bind {

namespace {

// Validates x (N, H, W, C) and w (KH, KW, C, F) and derives the output geometry.
Conv2dShape conv_shape(const FloatArray& x, const FloatArray& w, py::handle strides_obj,
                       py::handle padding_obj) {
  const auto strides = as_pair(strides_obj, "strides");
  const Padding padding = as_padding(padding_obj, "padding");
  if (w.shape(2) != x.shape(3))
    throw py::value_error("w: expected " + std::to_string(x.shape(3)) +
                          " input channels (axis 2) to match x " + shape_str(x) + ", got shape " +
                          shape_str(w));
  const WindowAxes axes =
      window_axes(shape_of(x), "x", {w.shape(0), w.shape(1)}, "w", strides, padding);
  return {x.shape(0), x.shape(3), w.shape(3), axes.h, axes.w};
}

Shape output_shape(const Conv2dShape& s) { return {s.n, s.h.out, s.w.out, s.f}; }

FloatArray conv2d(py::handle x_obj, py::handle w_obj, py::handle b_obj, py::handle strides,
                  py::handle padding) {
  FloatArray x = as_float32(x_obj, "x", 4);
  FloatArray w = as_float32(w_obj, "w", 4);
  std::optional<FloatArray> b = as_float32_or_none(b_obj, "b", 1);
  const Conv2dShape s = conv_shape(x, w, strides, padding);
  if (b)
    require_shape(b->shape(0) == s.f, "b", *b, [&] {
      return "shape (" + std::to_string(s.f) + ",) to match w " + shape_str(w);
    });
  FloatArray y = new_float32(output_shape(s));
  {
    py::gil_scoped_release release;
    conv2d_forward(s, x.data(), w.data(), b ? b->data() : nullptr, y.mutable_data());
  }
  return y;
}

py::tuple conv2d_backward(py::handle dy_obj, py::handle x_obj, py::handle w_obj,
                          py::handle strides, py::handle padding, py::handle need_dx_obj) {
  const bool need_dx = as_bool(need_dx_obj, "need_dx");
  FloatArray dy = as_float32(dy_obj, "dy", 4);
  FloatArray x = as_float32(x_obj, "x", 4);
  FloatArray w = as_float32(w_obj, "w", 4);
  const Conv2dShape s = conv_shape(x, w, strides, padding);
  require_shape(shape_of(dy) == output_shape(s), "dy", dy, [&] {
    return "shape " + shape_str(output_shape(s)) + " (the output of conv2d on x " + shape_str(x) +
           " and w " + shape_str(w) + ")";
  });
  std::optional<FloatArray> dx;
  if (need_dx) dx = new_float32(shape_of(x));
  FloatArray dw = new_float32(shape_of(w));
  FloatArray db = new_float32({s.f});
  {
    py::gil_scoped_release release;
    conv2d_backward(s, dy.data(), x.data(), w.data(), dx ? dx->mutable_data() : nullptr,
                    dw.mutable_data(), db.mutable_data());
  }
  return py::make_tuple(dx ? py::object(*dx) : py::object(py::none()), dw, db);
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d", &conv2d, py::arg("x"), py::arg("w"), py::arg("b") = py::none(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid");
  m.def("conv2d_backward", &conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("w"),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("need_dx") = true);
}

}  // namespace shendu::bind
