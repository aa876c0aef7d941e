#include "bindings/checks.h"
#include "bindings/families.h"
#include "bindings/window_args.h"
#include "conv/conv2d.h"
#include "conv/conv2d_dilated.h"
#include "conv/conv2d_transpose.h"
#include "conv/depthwise.h"

namespace shendu::bind {

namespace {

// Dilation > 1 only with strides 1, as Keras allows.
Dilation as_dilation(py::handle obj, std::pair<int64_t, int64_t> strides) {
  const auto d = as_pair(obj, "dilation_rate");
  if ((d.first > 1 || d.second > 1) && (strides.first > 1 || strides.second > 1))
    throw py::value_error("dilation_rate: " + std::string(py::repr(obj)) +
                          " > 1 needs strides 1, got strides (" + std::to_string(strides.first) +
                          ", " + std::to_string(strides.second) + ")");
  return {d.first, d.second};
}

// Validates x (N, H, W, C) and w (KH, KW, C, F) and derives the output geometry; the axes' pad
// and out are those of the dilated kernel, their kernel the undilated one.
Conv2dShape conv_shape(const FloatArray& x, const FloatArray& w,
                       std::pair<int64_t, int64_t> strides, py::handle padding_obj,
                       Dilation d = {1, 1}) {
  const Padding padding = as_padding(padding_obj, "padding");
  if (w.shape(2) != x.shape(3))
    throw py::value_error("w: expected " + std::to_string(x.shape(3)) +
                          " input channels (axis 2) to match x " + shape_str(x) + ", got shape " +
                          shape_str(w));
  const int64_t kh = w.shape(0), kw = w.shape(1);
  WindowAxes axes = window_axes(shape_of(x), "x", {(kh - 1) * d.h + 1, (kw - 1) * d.w + 1}, "w",
                                strides, padding);
  axes.h.kernel = kh;
  axes.w.kernel = kw;
  return {x.shape(0), x.shape(3), w.shape(3), axes.h, axes.w};
}

Shape output_shape(const Conv2dShape& s) { return {s.n, s.h.out, s.w.out, s.f}; }

void require_bias(const std::optional<FloatArray>& b, int64_t size, const FloatArray& w) {
  if (b)
    require_shape(b->shape(0) == size, "b", *b, [&] {
      return "shape (" + std::to_string(size) + ",) to match w " + shape_str(w);
    });
}

FloatArray conv2d(py::handle x_obj, py::handle w_obj, py::handle b_obj, py::handle strides_obj,
                  py::handle padding, py::handle dilation_obj) {
  FloatArray x = as_float32(x_obj, "x", 4);
  FloatArray w = as_float32(w_obj, "w", 4);
  std::optional<FloatArray> b = as_float32_or_none(b_obj, "b", 1);
  const auto strides = as_pair(strides_obj, "strides");
  const Dilation d = as_dilation(dilation_obj, strides);
  const Conv2dShape s = conv_shape(x, w, strides, padding, d);
  require_bias(b, s.f, w);
  FloatArray y = new_float32(output_shape(s));
  {
    py::gil_scoped_release release;
    if (d.h == 1 && d.w == 1)
      conv2d_forward(s, x.data(), w.data(), b ? b->data() : nullptr, y.mutable_data());
    else
      conv2d_dilated_forward(s, d, x.data(), w.data(), b ? b->data() : nullptr,
                             y.mutable_data());
  }
  return y;
}

py::tuple conv2d_backward(py::handle dy_obj, py::handle x_obj, py::handle w_obj,
                          py::handle strides_obj, py::handle padding, py::handle need_dx_obj,
                          py::handle dilation_obj) {
  const bool need_dx = as_bool(need_dx_obj, "need_dx");
  FloatArray dy = as_float32(dy_obj, "dy", 4);
  FloatArray x = as_float32(x_obj, "x", 4);
  FloatArray w = as_float32(w_obj, "w", 4);
  const auto strides = as_pair(strides_obj, "strides");
  const Dilation d = as_dilation(dilation_obj, strides);
  const Conv2dShape s = conv_shape(x, w, strides, padding, d);
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
    float* dxp = dx ? dx->mutable_data() : nullptr;
    if (d.h == 1 && d.w == 1)
      shendu::conv2d_backward(s, dy.data(), x.data(), w.data(), dxp, dw.mutable_data(),
                              db.mutable_data());
    else
      conv2d_dilated_backward(s, d, dy.data(), x.data(), w.data(), dxp, dw.mutable_data(),
                              db.mutable_data());
  }
  return py::make_tuple(dx ? py::object(*dx) : py::object(py::none()), dw, db);
}

// Keras's output size of a transposed convolution along one axis (TensorFlow backend).
int64_t transpose_size(int64_t in, int64_t kernel, int64_t stride, Padding padding,
                       std::optional<int64_t> output_padding) {
  if (padding == Padding::Valid)
    return (in - 1) * stride + kernel +
           output_padding.value_or(std::max(kernel, stride) - kernel);
  if (!output_padding) return in * stride;
  return (in - 1) * stride + kernel % 2 + *output_padding;
}

// The conv2d that maps the transposed convolution's output (N, H, W, F) to its input x (N, Hi,
// Wi, Ci), for w (KH, KW, F, Ci).
Conv2dShape transpose_shape(const FloatArray& x, const FloatArray& w, py::handle strides_obj,
                            py::handle padding_obj, py::handle output_padding_obj) {
  const auto strides = as_pair(strides_obj, "strides");
  const Padding padding = as_padding(padding_obj, "padding");
  std::optional<std::pair<int64_t, int64_t>> op;
  if (!output_padding_obj.is_none()) {
    op = as_pair(output_padding_obj, "output_padding", 0);
    if (op->first >= strides.first || op->second >= strides.second)
      throw py::value_error("output_padding: " + std::string(py::repr(output_padding_obj)) +
                            " must be less than strides (" + std::to_string(strides.first) +
                            ", " + std::to_string(strides.second) + ")");
  }
  if (w.shape(3) != x.shape(3))
    throw py::value_error("w: expected " + std::to_string(x.shape(3)) +
                          " input channels (axis 3) to match x " + shape_str(x) + ", got shape " +
                          shape_str(w));
  const int64_t kh = w.shape(0), kw = w.shape(1);
  const int64_t h = transpose_size(x.shape(1), kh, strides.first, padding,
                                   op ? std::optional<int64_t>(op->first) : std::nullopt);
  const int64_t wd = transpose_size(x.shape(2), kw, strides.second, padding,
                                    op ? std::optional<int64_t>(op->second) : std::nullopt);
  const Shape y_shape{x.shape(0), std::max<int64_t>(h, 0), std::max<int64_t>(wd, 0), w.shape(2)};
  const bool same = padding == Padding::Same;
  const Axis ah = make_axis(y_shape[1], kh, strides.first, same);
  const Axis aw = make_axis(y_shape[2], kw, strides.second, same);
  // Keras's sizes map back onto x except for even 'same' kernels with output_padding 0.
  if (h < 1 || wd < 1 || ah.out != x.shape(1) || aw.out != x.shape(2) ||
      (!same && (kh > y_shape[1] || kw > y_shape[2])))
    throw py::value_error("output_padding: " + std::string(py::repr(output_padding_obj)) +
                          " gives an output of (" + std::to_string(h) + ", " +
                          std::to_string(wd) + ") rows and columns for x " + shape_str(x) +
                          ", whose convolution does not give x back");
  return {x.shape(0), w.shape(2), w.shape(3), ah, aw};
}

Shape transpose_output(const Conv2dShape& s) { return {s.n, s.h.in, s.w.in, s.c}; }

FloatArray conv2d_transpose(py::handle x_obj, py::handle w_obj, py::handle b_obj,
                            py::handle strides, py::handle padding, py::handle output_padding) {
  FloatArray x = as_float32(x_obj, "x", 4);
  FloatArray w = as_float32(w_obj, "w", 4);
  std::optional<FloatArray> b = as_float32_or_none(b_obj, "b", 1);
  const Conv2dShape s = transpose_shape(x, w, strides, padding, output_padding);
  require_bias(b, s.c, w);
  FloatArray y = new_float32(transpose_output(s));
  {
    py::gil_scoped_release release;
    conv2d_transpose_forward(s, x.data(), w.data(), b ? b->data() : nullptr, y.mutable_data());
  }
  return y;
}

py::tuple conv2d_transpose_backward(py::handle dy_obj, py::handle x_obj, py::handle w_obj,
                                    py::handle strides, py::handle padding,
                                    py::handle output_padding, py::handle need_dx_obj) {
  const bool need_dx = as_bool(need_dx_obj, "need_dx");
  FloatArray dy = as_float32(dy_obj, "dy", 4);
  FloatArray x = as_float32(x_obj, "x", 4);
  FloatArray w = as_float32(w_obj, "w", 4);
  const Conv2dShape s = transpose_shape(x, w, strides, padding, output_padding);
  require_shape(shape_of(dy) == transpose_output(s), "dy", dy, [&] {
    return "shape " + shape_str(transpose_output(s)) + " (the output of conv2d_transpose on x " +
           shape_str(x) + " and w " + shape_str(w) + ")";
  });
  std::optional<FloatArray> dx;
  if (need_dx) dx = new_float32(shape_of(x));
  FloatArray dw = new_float32(shape_of(w));
  FloatArray db = new_float32({s.c});
  {
    py::gil_scoped_release release;
    shendu::conv2d_transpose_backward(s, dy.data(), x.data(), w.data(),
                                      dx ? dx->mutable_data() : nullptr, dw.mutable_data(),
                                      db.mutable_data());
  }
  return py::make_tuple(dx ? py::object(*dx) : py::object(py::none()), dw, db);
}

// Validates x (N, H, W, C) and w (KH, KW, C, M); axes as conv_shape's.
DepthwiseShape depthwise_shape(const FloatArray& x, const FloatArray& w,
                               std::pair<int64_t, int64_t> strides, py::handle padding,
                               Dilation d) {
  if (w.shape(2) != x.shape(3))
    throw py::value_error("w: expected " + std::to_string(x.shape(3)) +
                          " input channels (axis 2) to match x " + shape_str(x) + ", got shape " +
                          shape_str(w));
  const int64_t kh = w.shape(0), kw = w.shape(1);
  WindowAxes axes = window_axes(shape_of(x), "x", {(kh - 1) * d.h + 1, (kw - 1) * d.w + 1}, "w",
                                strides, as_padding(padding, "padding"));
  axes.h.kernel = kh;
  axes.w.kernel = kw;
  return {x.shape(0), x.shape(3), w.shape(3), axes.h, axes.w};
}

Shape output_shape(const DepthwiseShape& s) { return {s.n, s.h.out, s.w.out, s.c * s.m}; }

FloatArray depthwise_conv2d(py::handle x_obj, py::handle w_obj, py::handle b_obj,
                            py::handle strides_obj, py::handle padding, py::handle dilation_obj) {
  FloatArray x = as_float32(x_obj, "x", 4);
  FloatArray w = as_float32(w_obj, "w", 4);
  std::optional<FloatArray> b = as_float32_or_none(b_obj, "b", 1);
  const auto strides = as_pair(strides_obj, "strides");
  const Dilation d = as_dilation(dilation_obj, strides);
  const DepthwiseShape s = depthwise_shape(x, w, strides, padding, d);
  require_bias(b, s.c * s.m, w);
  FloatArray y = new_float32(output_shape(s));
  {
    py::gil_scoped_release release;
    const float* bp = b ? b->data() : nullptr;
    if (d.h == 1 && d.w == 1)
      depthwise_forward(s, x.data(), w.data(), bp, y.mutable_data());
    else
      depthwise_dilated_forward(s, d, x.data(), w.data(), bp, y.mutable_data());
  }
  return y;
}

py::tuple depthwise_conv2d_backward(py::handle dy_obj, py::handle x_obj, py::handle w_obj,
                                    py::handle strides_obj, py::handle padding,
                                    py::handle need_dx_obj, py::handle dilation_obj) {
  const bool need_dx = as_bool(need_dx_obj, "need_dx");
  FloatArray dy = as_float32(dy_obj, "dy", 4);
  FloatArray x = as_float32(x_obj, "x", 4);
  FloatArray w = as_float32(w_obj, "w", 4);
  const auto strides = as_pair(strides_obj, "strides");
  const Dilation d = as_dilation(dilation_obj, strides);
  const DepthwiseShape s = depthwise_shape(x, w, strides, padding, d);
  require_shape(shape_of(dy) == output_shape(s), "dy", dy, [&] {
    return "shape " + shape_str(output_shape(s)) + " (the output of depthwise_conv2d on x " +
           shape_str(x) + " and w " + shape_str(w) + ")";
  });
  std::optional<FloatArray> dx;
  if (need_dx) dx = new_float32(shape_of(x));
  FloatArray dw = new_float32(shape_of(w));
  FloatArray db = new_float32({s.c * s.m});
  {
    py::gil_scoped_release release;
    float* dxp = dx ? dx->mutable_data() : nullptr;
    if (d.h == 1 && d.w == 1)
      depthwise_backward(s, dy.data(), x.data(), w.data(), dxp, dw.mutable_data(),
                         db.mutable_data());
    else
      depthwise_dilated_backward(s, d, dy.data(), x.data(), w.data(), dxp, dw.mutable_data(),
                                 db.mutable_data());
  }
  return py::make_tuple(dx ? py::object(*dx) : py::object(py::none()), dw, db);
}

}  // namespace

void bind_conv(py::module_& m) {
  m.def("conv2d", &conv2d, py::arg("x"), py::arg("w"), py::arg("b") = py::none(),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("dilation_rate") = py::make_tuple(1, 1));
  m.def("conv2d_backward", &conv2d_backward, py::arg("dy"), py::arg("x"), py::arg("w"),
        py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("need_dx") = true, py::arg("dilation_rate") = py::make_tuple(1, 1));
  m.def("conv2d_transpose", &conv2d_transpose, py::arg("x"), py::arg("w"),
        py::arg("b") = py::none(), py::arg("strides") = py::make_tuple(1, 1),
        py::arg("padding") = "valid", py::arg("output_padding") = py::none());
  m.def("conv2d_transpose_backward", &conv2d_transpose_backward, py::arg("dy"), py::arg("x"),
        py::arg("w"), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("output_padding") = py::none(), py::arg("need_dx") = true);
  m.def("depthwise_conv2d", &depthwise_conv2d, py::arg("x"), py::arg("w"),
        py::arg("b") = py::none(), py::arg("strides") = py::make_tuple(1, 1),
        py::arg("padding") = "valid", py::arg("dilation_rate") = py::make_tuple(1, 1));
  m.def("depthwise_conv2d_backward", &depthwise_conv2d_backward, py::arg("dy"), py::arg("x"),
        py::arg("w"), py::arg("strides") = py::make_tuple(1, 1), py::arg("padding") = "valid",
        py::arg("need_dx") = true, py::arg("dilation_rate") = py::make_tuple(1, 1));
}

}  // namespace shendu::bind
