#include <string>

#include "checks.h"
#include "families.h"
#include "pool2d.h"
#include "window_args.h"

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
  return shape;
}

py::tuple max_pool2d(py::handle x_obj, py::handle pool_size, py::handle strides,
                     py::handle padding) {
  FloatArray x = as_float32(x_obj, "x", 4);
  const Pool2dShape s = pool_shape(shape_of(x), "x", pool_size, strides, padding);
  FloatArray y = new_float32(output_shape(s));
  IndexArray argmax(output_shape(s));
  {
    py::gil_scoped_release release;
    max_pool2d_forward(s, x.data(), y.mutable_data(), argmax.mutable_data());
  }
  return py::make_tuple(y, argmax);
}

FloatArray max_pool2d_backward(py::handle dy_obj, py::handle argmax_obj, py::handle x_shape_obj) {
  FloatArray dy = as_float32(dy_obj, "dy", 4);
  const Shape x_shape = as_x_shape(x_shape_obj);
  const Shape dy_shape = shape_of(dy);
  if (dy_shape[0] != x_shape[0] || dy_shape[3] != x_shape[3] || dy_shape[1] > x_shape[1] ||
      dy_shape[2] > x_shape[2])
    throw py::value_error("x_shape: " + shape_str(x_shape) + " cannot be pooled to dy " +
                          shape_str(dy_shape) + " (batch and channels must match)");
  // The argmax from max_pool2d (int64, C order) is used as is and range-checked by the kernel
  // as it scatters; anything else goes through as_indices, which converts and checks it.
  const int64_t in_plane = x_shape[1] * x_shape[2];
  IndexArray argmax = IndexArray::check_(argmax_obj)
                          ? py::reinterpret_borrow<IndexArray>(argmax_obj)
                          : as_indices(argmax_obj, "argmax", in_plane);
  require_shape(shape_of(argmax) == dy_shape, "argmax", argmax,
                "shape " + shape_str(dy_shape) + " (as dy)");
  FloatArray dx = new_float32(x_shape);
  bool in_range;
  {
    py::gil_scoped_release release;
    in_range = shendu::max_pool2d_backward(x_shape[0], in_plane, dy_shape[1] * dy_shape[2],
                                           x_shape[3], dy.data(), argmax.data(),
                                           dx.mutable_data());
  }
  // as_indices names the first out-of-range value (and raises).
  if (!in_range) as_indices(argmax, "argmax", in_plane);
  return dx;
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
  require_shape(shape_of(dy) == output_shape(s), "dy", dy,
                "shape " + shape_str(output_shape(s)) + " (the pooled x_shape " +
                    shape_str(x_shape) + ")");
  FloatArray dx = new_float32(x_shape);
  {
    py::gil_scoped_release release;
    shendu::avg_pool2d_backward(s, dy.data(), dx.mutable_data());
  }
  return dx;
}

}  // namespace

void bind_pool(py::module_& m) {
  const py::tuple two = py::make_tuple(2, 2);
  m.def("max_pool2d", &max_pool2d, py::arg("x"), py::arg("pool_size") = two,
        py::arg("strides") = py::none(), py::arg("padding") = "valid");
  m.def("max_pool2d_backward", &max_pool2d_backward, py::arg("dy"), py::arg("argmax"),
        py::arg("x_shape"));
  m.def("avg_pool2d", &avg_pool2d, py::arg("x"), py::arg("pool_size") = two,
        py::arg("strides") = py::none(), py::arg("padding") = "valid");
  m.def("avg_pool2d_backward", &avg_pool2d_backward, py::arg("dy"), py::arg("x_shape"),
        py::arg("pool_size") = two, py::arg("strides") = py::none(),
        py::arg("padding") = "valid");
}

}  // namespace shendu::bind
