#include <cstdint>
#include <string>

#include "bindings/checks.h"
#include "bindings/families.h"
#include "bindings/window_args.h"
#include "pool/global_pool.h"
#include "pool/pool2d.h"

namespace shendu::bind {

namespace {

// Pooling windows: strides default to the pool size, as in Keras.
Pool2dShape pool_shape(const Shape& x_shape, const char* x_name, py::handle pool_size_obj,
                       py::handle strides_obj, py::handle padding_obj) {
  const auto pool = as_pair(pool_size_obj, "pool_size");
  const auto strides = strides_obj.is_none() ? pool : as_pair(strides_obj, "strides");
  const Padding padding = as_padding(padding_obj, "padding");
  const WindowAxes axes = window_axes(x_shape, x_name, pool, "pool_size", strides, padding);
  return {x_shape[0], x_shape[3], axes.h, axes.w};
}

Shape output_shape(const Pool2dShape& s) { return {s.n, s.h.out, s.w.out, s.c}; }

// x_shape for the backward ops: a sequence of 4 non-negative ints.
Shape as_x_shape(py::handle obj) {
  if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj) || py::len(obj) != 4)
    throw py::type_error("x_shape: expected a 4-tuple of ints, got " + std::string(py::repr(obj)));
  Shape shape;
  for (py::handle item : py::reinterpret_borrow<py::sequence>(obj))
    shape.push_back(as_int(item, "x_shape", 0));
  // The shape of a float32 array that can exist (NumPy's own bound, zero extents aside), so the
  // window arithmetic on it cannot overflow.
  py::ssize_t bytes = sizeof(float);
  for (py::ssize_t d : shape)
    if (d && __builtin_mul_overflow(bytes, d, &bytes))
      throw py::value_error("x_shape: " + shape_str(shape) +
                            " has too many cells for a float32 array");
  return shape;
}

// Max pooling also bounds the window: its argmax holds a tap index (see pool2d.h).
Pool2dShape max_pool_shape(const Shape& x_shape, const char* x_name, py::handle pool_size,
                           py::handle strides, py::handle padding) {
  const Pool2dShape s = pool_shape(x_shape, x_name, pool_size, strides, padding);
  const int64_t area = s.h.kernel * s.w.kernel;
  if (area > kMaxPoolArea)
    throw py::value_error("pool_size: window (" + std::to_string(s.h.kernel) + ", " +
                          std::to_string(s.w.kernel) + ") has " + std::to_string(area) +
                          " cells; max_pool2d's argmax (uint16) holds at most " +
                          std::to_string(kMaxPoolArea));
  return s;
}

// The upstream gradient of a pooling backward has the shape pooling x_shape gives.
void require_pooled_dy(const FloatArray& dy, const Pool2dShape& s, const Shape& x_shape) {
  require_shape(shape_of(dy) == output_shape(s), "dy", dy, [&] {
    return "shape " + shape_str(output_shape(s)) + " (the pooled x_shape " + shape_str(x_shape) +
           ")";
  });
}

bool byte_taps(const Pool2dShape& s) { return s.h.kernel * s.w.kernel <= kMaxPoolByteArea; }

std::string window_str(const Pool2dShape& s) {
  return "(" + std::to_string(s.h.kernel) + ", " + std::to_string(s.w.kernel) + ")";
}

template <class Index>
py::tuple max_pool(const FloatArray& x, const Pool2dShape& s) {
  FloatArray y = new_float32_lined(output_shape(s), "x");
  py::array_t<Index, py::array::c_style> argmax(output_shape(s));
  {
    py::gil_scoped_release release;
    max_pool2d_forward(s, x.data(), y.mutable_data(), argmax.mutable_data());
  }
  return py::make_tuple(y, argmax);
}

py::tuple max_pool2d(py::handle x_obj, py::handle pool_size, py::handle strides,
                     py::handle padding) {
  FloatArray x = as_float32(x_obj, "x", 4);
  const Pool2dShape s = max_pool_shape(shape_of(x), "x", pool_size, strides, padding);
  return byte_taps(s) ? max_pool<uint8_t>(x, s) : max_pool<uint16_t>(x, s);
}

// The argmax must be max_pool2d's for this geometry: its dtype (no silent conversion of, say,
// the int64 flat indices of other libraries), the shape of dy; any layout (views are copied).
template <class Index>
FloatArray route_max(const FloatArray& dy, py::handle argmax_obj, const Pool2dShape& s,
                     const Shape& x_shape) {
  const py::dtype want = py::dtype::of<Index>();
  const bool is_array = py::isinstance<py::array>(argmax_obj);
  if (!is_array || !py::reinterpret_borrow<py::array>(argmax_obj).dtype().is(want)) {
    const std::string got =
        is_array ? "dtype " + std::string(py::str(
                                  py::reinterpret_borrow<py::array>(argmax_obj).dtype()))
                 : std::string(py::str(py::type::handle_of(argmax_obj)));
    throw py::value_error("argmax: expected the " + std::string(py::str(want)) +
                          " array max_pool2d returns for a " + window_str(s) + " window, got " +
                          got);
  }
  using TapArray = py::array_t<Index, py::array::c_style>;
  // max_pool2d's own output is used as is (ensure() builds a new array object even then).
  const TapArray argmax = aligned(TapArray::check_(argmax_obj)
                                      ? py::reinterpret_borrow<TapArray>(argmax_obj)
                                      : TapArray::ensure(argmax_obj));
  require_shape(shape_of(argmax) == shape_of(dy), "argmax", argmax,
                [&] { return "shape " + shape_str(dy) + " (as dy)"; });
  FloatArray dx = new_float32_lined(x_shape, "x_shape");
  int64_t stray;
  {
    py::gil_scoped_release release;
    stray = shendu::max_pool2d_backward(s, dy.data(), argmax.data(), dx.mutable_data());
  }
  if (stray >= 0) {
    const int64_t c = stray % s.c, ow = stray / s.c % s.w.out;
    const int64_t oh = stray / (s.c * s.w.out) % s.h.out, n = stray / (s.c * s.w.out * s.h.out);
    throw py::value_error("argmax: value " + std::to_string(argmax.data()[stray]) + " at (" +
                          std::to_string(n) + ", " + std::to_string(oh) + ", " +
                          std::to_string(ow) + ", " + std::to_string(c) +
                          ") names no real cell of its " + window_str(s) + " window in x_shape " +
                          shape_str(x_shape));
  }
  return dx;
}

FloatArray max_pool2d_backward(py::handle dy_obj, py::handle argmax_obj, py::handle x_shape_obj,
                               py::handle pool_size, py::handle strides, py::handle padding) {
  FloatArray dy = as_float32(dy_obj, "dy", 4);
  const Shape x_shape = as_x_shape(x_shape_obj);
  const Pool2dShape s = max_pool_shape(x_shape, "x_shape", pool_size, strides, padding);
  require_pooled_dy(dy, s, x_shape);
  return byte_taps(s) ? route_max<uint8_t>(dy, argmax_obj, s, x_shape)
                      : route_max<uint16_t>(dy, argmax_obj, s, x_shape);
}

FloatArray avg_pool2d(py::handle x_obj, py::handle pool_size, py::handle strides,
                      py::handle padding) {
  FloatArray x = as_float32(x_obj, "x", 4);
  const Pool2dShape s = pool_shape(shape_of(x), "x", pool_size, strides, padding);
  FloatArray y = new_float32(output_shape(s));
  {
    py::gil_scoped_release release;
    avg_pool2d_forward(s, x.data(), y.mutable_data());
  }
  return y;
}

FloatArray avg_pool2d_backward(py::handle dy_obj, py::handle x_shape_obj, py::handle pool_size,
                               py::handle strides, py::handle padding) {
  FloatArray dy = as_float32(dy_obj, "dy", 4);
  const Shape x_shape = as_x_shape(x_shape_obj);
  const Pool2dShape s = pool_shape(x_shape, "x_shape", pool_size, strides, padding);
  require_pooled_dy(dy, s, x_shape);
  FloatArray dx = new_float32(x_shape);
  {
    py::gil_scoped_release release;
    shendu::avg_pool2d_backward(s, dy.data(), dx.mutable_data());
  }
  return dx;
}

// Global pooling takes (N, L, C): the layers view images (N, H, W, C) as (N, H * W, C).
GlobalPoolShape global_shape(const Shape& x_shape) {
  return {x_shape[0], x_shape[1], x_shape[2]};
}

Shape as_x_shape3(py::handle obj) {
  if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj) || py::len(obj) != 3)
    throw py::type_error("x_shape: expected a 3-tuple of ints, got " + std::string(py::repr(obj)));
  Shape shape;
  for (py::handle item : py::reinterpret_borrow<py::sequence>(obj))
    shape.push_back(as_int(item, "x_shape", 0));
  return shape;
}

void require_global_dy(const FloatArray& dy, const GlobalPoolShape& s, const Shape& x_shape) {
  require_shape(shape_of(dy) == Shape{s.n, s.c}, "dy", dy, [&] {
    return "shape " + shape_str(Shape{s.n, s.c}) + " (x_shape " + shape_str(x_shape) +
           " pooled over its steps)";
  });
}

FloatArray global_avg_pool(py::handle x_obj) {
  FloatArray x = as_float32(x_obj, "x", 3);
  const GlobalPoolShape s = global_shape(shape_of(x));
  FloatArray y = new_float32({s.n, s.c});
  {
    py::gil_scoped_release release;
    global_avg_pool_forward(s, x.data(), y.mutable_data());
  }
  return y;
}

FloatArray global_avg_pool_backward(py::handle dy_obj, py::handle x_shape_obj) {
  FloatArray dy = as_float32(dy_obj, "dy", 2);
  const Shape x_shape = as_x_shape3(x_shape_obj);
  const GlobalPoolShape s = global_shape(x_shape);
  require_global_dy(dy, s, x_shape);
  FloatArray dx = new_float32_lined(x_shape, "x_shape");
  {
    py::gil_scoped_release release;
    shendu::global_avg_pool_backward(s, dy.data(), dx.mutable_data());
  }
  return dx;
}

FloatArray global_max_pool(py::handle x_obj) {
  FloatArray x = as_float32(x_obj, "x", 3);
  const GlobalPoolShape s = global_shape(shape_of(x));
  FloatArray y = new_float32({s.n, s.c});
  {
    py::gil_scoped_release release;
    global_max_pool_forward(s, x.data(), y.mutable_data());
  }
  return y;
}

FloatArray global_max_pool_backward(py::handle dy_obj, py::handle x_obj, py::handle y_obj) {
  FloatArray dy = as_float32(dy_obj, "dy", 2);
  FloatArray x = as_float32(x_obj, "x", 3);
  FloatArray y = as_float32(y_obj, "y", 2);
  const GlobalPoolShape s = global_shape(shape_of(x));
  require_global_dy(dy, s, shape_of(x));
  require_same_shape(y, "y", dy, "dy");
  FloatArray dx = new_float32_lined(shape_of(x), "x");
  {
    py::gil_scoped_release release;
    shendu::global_max_pool_backward(s, dy.data(), x.data(), y.data(), dx.mutable_data());
  }
  return dx;
}

}  // namespace

void bind_pool(py::module_& m) {
  const py::tuple two = py::make_tuple(2, 2);
  m.def("max_pool2d", &max_pool2d, py::arg("x"), py::arg("pool_size") = two,
        py::arg("strides") = py::none(), py::arg("padding") = "valid");
  m.def("max_pool2d_backward", &max_pool2d_backward, py::arg("dy"), py::arg("argmax"),
        py::arg("x_shape"), py::arg("pool_size") = two, py::arg("strides") = py::none(),
        py::arg("padding") = "valid");
  m.def("avg_pool2d", &avg_pool2d, py::arg("x"), py::arg("pool_size") = two,
        py::arg("strides") = py::none(), py::arg("padding") = "valid");
  m.def("avg_pool2d_backward", &avg_pool2d_backward, py::arg("dy"), py::arg("x_shape"),
        py::arg("pool_size") = two, py::arg("strides") = py::none(),
        py::arg("padding") = "valid");
  m.def("global_avg_pool", &global_avg_pool, py::arg("x"));
  m.def("global_avg_pool_backward", &global_avg_pool_backward, py::arg("dy"), py::arg("x_shape"));
  m.def("global_max_pool", &global_max_pool, py::arg("x"));
  m.def("global_max_pool_backward", &global_max_pool_backward, py::arg("dy"), py::arg("x"),
        py::arg("y"));
}

}  // namespace shendu::bind
