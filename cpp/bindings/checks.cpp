#include "bindings/checks.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <sstream>

namespace shendu::bind {

std::string shape_str(const Shape& s) {
  std::ostringstream out;
  out << '(';
  for (size_t i = 0; i < s.size(); ++i) out << (i ? ", " : "") << s[i];
  out << (s.size() == 1 ? ",)" : ")");
  return out.str();
}

Shape shape_of(const py::array& a) { return Shape(a.shape(), a.shape() + a.ndim()); }

std::string shape_str(const py::array& a) { return shape_str(shape_of(a)); }

void require(bool ok, const std::string& message) {
  if (!ok) throw py::value_error(message);
}

void require_shape(bool ok, const char* name, const py::array& a, const std::string& expected) {
  if (!ok)
    throw py::value_error(std::string(name) + ": expected " + expected + ", got shape " +
                          shape_str(a));
}

void require_same_shape(const py::array& a, const char* name, const py::array& like,
                        const char* like_name) {
  if (shape_of(a) != shape_of(like))
    throw py::value_error(std::string(name) + ": expected the shape of " + like_name + " " +
                          shape_str(like) + ", got shape " + shape_str(a));
}

namespace {

py::array as_numeric_array(py::handle obj, const char* name) {
  if (obj.is_none()) throw py::type_error(std::string(name) + ": expected an array, got None");
  py::array arr = py::array::ensure(obj);
  if (!arr) throw py::type_error(std::string(name) + ": expected an array of numbers");
  const char kind = arr.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw py::type_error(std::string(name) + ": expected real numbers (float or integer data), got dtype " +
                         std::string(py::str(arr.dtype())));
  return arr;
}

// arr converted to C-contiguous T. NumPy's own error (MemoryError for a broadcast view too large
// to materialize) comes back as the same type, naming the argument, with NumPy's as its cause.
template <class T>
py::array_t<T, py::array::c_style> converted(const py::array& arr, const char* name) {
  using Cast = py::array_t<T, py::array::c_style | py::array::forcecast>;
  try {
    // The constructor, unlike Cast::ensure, keeps NumPy's error set for error_already_set.
    return aligned(py::array_t<T, py::array::c_style>(Cast(arr)));
  } catch (py::error_already_set& e) {
    const std::string message = std::string(name) + ": cannot convert the array of shape " +
                                shape_str(arr) + " and dtype " + std::string(py::str(arr.dtype())) +
                                " to " + std::string(py::str(py::dtype::of<T>()));
    py::raise_from(e, e.matches(PyExc_MemoryError) ? PyExc_MemoryError : PyExc_TypeError,
                   message.c_str());
    throw py::error_already_set();
  }
}

void require_rank(const py::array& arr, const char* name, int ndim) {
  if (ndim >= 0 && arr.ndim() != ndim)
    throw py::value_error(std::string(name) + ": expected a " + std::to_string(ndim) +
                          "-D array, got shape " + shape_str(arr));
}

}  // namespace

FloatArray as_float32(py::handle obj, const char* name, int ndim) {
  // The usual argument, a C-contiguous float32 ndarray, is taken as it is: the two conversion
  // calls into NumPy below cost ~0.3 us together even when they convert nothing, and a tiny
  // model's train step (~7 us) passes two such arrays.
  if (FloatArray::check_(obj)) {
    auto arr = py::reinterpret_borrow<FloatArray>(obj);
    require_rank(arr, name, ndim);
    return aligned(std::move(arr));
  }
  py::array arr = as_numeric_array(obj, name);
  require_rank(arr, name, ndim);
  // forcecast is safe: complex/str/object were rejected above.
  return converted<float>(arr, name);
}

std::optional<FloatArray> as_float32_or_none(py::handle obj, const char* name, int ndim) {
  if (obj.is_none()) return std::nullopt;
  return as_float32(obj, name, ndim);
}

FloatArray as_float32_inplace(py::handle obj, const char* name) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a float32 NumPy array (updated in place)");
  py::array arr = py::reinterpret_borrow<py::array>(obj);
  if (!arr.dtype().is(py::dtype::of<float>()))
    throw py::type_error(std::string(name) + ": expected float32 (updated in place), got dtype " +
                         std::string(py::str(arr.dtype())));
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + ": expected a C-contiguous array (updated in place)");
  if (!arr.writeable()) throw py::value_error(std::string(name) + ": array is read-only");
  if (!(arr.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw py::value_error(std::string(name) +
                          ": expected an array aligned to its 4-byte elements (updated in place)");
  return py::reinterpret_borrow<FloatArray>(arr);
}

IndexArray as_indices(py::handle obj, const char* name, int64_t limit) {
  py::array arr = as_numeric_array(obj, name);
  const char kind = arr.dtype().kind();
  if (kind == 'f') {
    // Keras casts float ids to int; a fractional or non-finite one is a bug upstream.
    const auto d = converted<double>(arr, name);
    const double* p = d.data();
    for (py::ssize_t i = 0, n = d.size(); i < n; ++i)  // size() recomputes the product
      if (!std::isfinite(p[i]) || p[i] != std::floor(p[i]))
        throw py::value_error(std::string(name) + ": expected whole numbers, got " +
                              std::to_string(p[i]));
  }
  IndexArray ids = converted<int64_t>(arr, name);
  const int64_t* p = ids.data();
  for (py::ssize_t i = 0, n = ids.size(); i < n; ++i)  // size() recomputes the product
    if (p[i] < 0 || p[i] >= limit)
      throw py::value_error(std::string(name) + ": value " + std::to_string(p[i]) +
                            " out of range [0, " + std::to_string(limit) + ")");
  return ids;
}

std::pair<int64_t, int64_t> as_pair(py::handle obj, const char* name, int64_t min) {
  const auto bad = [&] {
    return py::type_error(std::string(name) + ": expected an int or a pair of ints, got " +
                          std::string(py::repr(obj)));
  };
  py::object items[2];
  if (py::isinstance<py::int_>(obj) && !py::isinstance<py::bool_>(obj)) {
    items[0] = items[1] = py::reinterpret_borrow<py::object>(obj);
  } else if (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj) &&
             py::len(obj) == 2) {
    py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
    items[0] = seq[0];
    items[1] = seq[1];
  } else {
    throw bad();
  }
  int64_t v[2];
  for (int i = 0; i < 2; ++i) {
    // Python and NumPy integers (operator.index), not bools or floats.
    PyObject* index =
        py::isinstance<py::bool_>(items[i]) ? nullptr : PyNumber_Index(items[i].ptr());
    if (!index) {
      PyErr_Clear();
      throw bad();
    }
    int overflow = 0;
    v[i] = PyLong_AsLongLongAndOverflow(index, &overflow);
    Py_DECREF(index);
    // Bounded so that window arithmetic (areas, padded extents) cannot overflow 64 bits.
    if (overflow || v[i] < min || v[i] > kMaxWindow)
      throw py::value_error(std::string(name) +
                            (min == 1 ? ": expected positive values"
                                      : ": expected values >= " + std::to_string(min)) +
                            " up to " + std::to_string(kMaxWindow) + ", got " +
                            std::string(py::repr(obj)));
  }
  return {v[0], v[1]};
}

Padding as_padding(py::handle obj, const char* name) {
  if (!py::isinstance<py::str>(obj))
    throw py::type_error(std::string(name) + ": expected 'valid' or 'same', got " +
                         std::string(py::repr(obj)));
  std::string s = obj.cast<std::string>();
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "valid") return Padding::Valid;
  if (s == "same") return Padding::Same;
  throw py::value_error(std::string(name) + ": expected 'valid' or 'same', got " +
                        std::string(py::repr(obj)));
}

float as_finite_float(py::handle obj, const char* name) {
  return static_cast<float>(as_finite_double(obj, name));
}

double as_finite_double(py::handle obj, const char* name) {
  // float() would parse strings; a string here is a caller's mistake, not a number.
  if (py::isinstance<py::str>(obj) || py::isinstance<py::bytes>(obj))
    throw py::type_error(std::string(name) + ": expected a number, got " +
                         std::string(py::repr(obj)));
  double v;
  try {
    v = py::float_(py::reinterpret_borrow<py::object>(obj)).cast<double>();
  } catch (py::error_already_set&) {
    throw py::type_error(std::string(name) + ": expected a number, got " + std::string(py::repr(obj)));
  }
  if (!std::isfinite(v)) throw py::value_error(std::string(name) + ": expected a finite number");
  return v;
}

int64_t as_int(py::handle obj, const char* name, int64_t min) {
  // PyNumber_Index accepts Python and NumPy integers but not floats; bools are ints to Python
  // but never a meaningful count or seed.
  PyObject* index = py::isinstance<py::bool_>(obj) ? nullptr : PyNumber_Index(obj.ptr());
  if (!index) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + ": expected an int, got " +
                         std::string(py::repr(obj)));
  }
  py::object owned = py::reinterpret_steal<py::object>(index);
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(index, &overflow);
  if (overflow || v < min)
    throw py::value_error(std::string(name) + ": expected an int >= " + std::to_string(min) +
                          (overflow ? " that fits in 64 bits" : "") + ", got " +
                          std::string(py::repr(obj)));
  return v;
}

bool as_bool(py::handle obj, const char* name) {
  if (obj.ptr() == Py_True || obj.ptr() == Py_False) return obj.ptr() == Py_True;
  if (py::isinstance(obj, py::module_::import("numpy").attr("bool_")))
    return PyObject_IsTrue(obj.ptr()) == 1;
  throw py::type_error(std::string(name) + ": expected True or False, got " +
                       std::string(py::repr(obj)));
}

FloatArray new_float32(const Shape& shape) { return FloatArray(shape); }

FloatArray new_float32_lined(const Shape& shape, const char* name) {
  py::ssize_t count = 1;
  bool overflow = false;
  for (py::ssize_t d : shape) overflow |= __builtin_mul_overflow(count, d, &count);
  if (overflow || count > (PY_SSIZE_T_MAX - 64) / static_cast<py::ssize_t>(sizeof(float)))
    throw py::value_error(std::string(name) + ": " + shape_str(shape) +
                          " has too many cells for a float32 array");
  FloatArray block({count + 15});
  const auto addr = reinterpret_cast<std::uintptr_t>(block.data());
  const py::ssize_t skip = static_cast<py::ssize_t>((64 - addr % 64) % 64 / sizeof(float));
  Shape strides(shape.size(), static_cast<py::ssize_t>(sizeof(float)));
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return FloatArray(shape, strides, block.mutable_data() + skip, block);
}

FloatArray zeros_float32(const Shape& shape) {
  FloatArray a(shape);
  if (a.size()) std::memset(a.mutable_data(), 0, sizeof(float) * a.size());
  return a;
}

}  // namespace shendu::bind
