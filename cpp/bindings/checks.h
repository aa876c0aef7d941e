// The binding boundary: every argument that reaches a kernel passes through one of these.
// They convert what Keras would accept (float64, integer data, non-contiguous views) and reject
// the rest with a TypeError/ValueError that names the argument, so no caller can hand a kernel
// a pointer it would read out of bounds.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shendu::bind {
namespace py = pybind11;

using FloatArray = py::array_t<float, py::array::c_style>;
using IndexArray = py::array_t<int64_t, py::array::c_style>;
using Shape = std::vector<py::ssize_t>;

enum class Padding { Valid, Same };

std::string shape_str(const py::array& a);
std::string shape_str(const Shape& s);
Shape shape_of(const py::array& a);

// Any float, integer or bool array-like -> C-contiguous float32 (copies only when needed).
// ndim >= 0 also checks the rank. TypeError for complex, string, object data.
FloatArray as_float32(py::handle obj, const char* name, int ndim = -1);
// arr itself when its data is aligned to its elements, else an aligned copy. NumPy arrays may be
// views at any byte offset (np.frombuffer(buf, offset=1), a field of a packed record), and the
// kernels read float / int64 / uint16 elements directly, which needs their natural alignment.
template <class T>
py::array_t<T, py::array::c_style> aligned(py::array_t<T, py::array::c_style> arr) {
  if (arr.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) return arr;
  py::array_t<T, py::array::c_style> copy(shape_of(arr));
  if (arr.size()) std::memcpy(copy.mutable_data(), arr.data(), arr.nbytes());
  return copy;
}
// Same, but None gives an empty optional.
std::optional<FloatArray> as_float32_or_none(py::handle obj, const char* name, int ndim = -1);
// Arguments updated in place (optimizer state): must already be writable C-contiguous float32
// NumPy arrays, because a converted copy would silently drop the update.
FloatArray as_float32_inplace(py::handle obj, const char* name);
// Ids / labels: integer data (or floats holding whole numbers), every value in [0, limit).
IndexArray as_indices(py::handle obj, const char* name, int64_t limit);
// The largest window size or stride (2^31 - 1): products and sums of two such values and an
// array extent stay far from 64-bit overflow.
constexpr int64_t kMaxWindow = (int64_t{1} << 31) - 1;
// An int or a pair of ints, each in [min, kMaxWindow] (strides, pool sizes: min 1).
std::pair<int64_t, int64_t> as_pair(py::handle obj, const char* name, int64_t min = 1);
// "valid" or "same" (any case).
Padding as_padding(py::handle obj, const char* name);
float as_finite_float(py::handle obj, const char* name);
// Same, kept in double (dropout rates must be compared exactly as the reference does).
double as_finite_double(py::handle obj, const char* name);
// A Python or NumPy integer (not bool) >= min; ValueError naming it otherwise.
int64_t as_int(py::handle obj, const char* name, int64_t min);
// A Python or NumPy bool; TypeError naming it otherwise (a truthy string or number is a mistake).
bool as_bool(py::handle obj, const char* name);

// Raises ValueError "<name>: expected <expected>, got shape (...)" unless ok.
void require_shape(bool ok, const char* name, const py::array& a, const std::string& expected);
// The same, with the expected text built by expected() only on failure: a message of shape_str
// and to_string pieces costs ~1 us to build, more than many small ops take.
template <class MakeExpected,
          class = decltype(std::string(std::declval<MakeExpected&>()()))>
void require_shape(bool ok, const char* name, const py::array& a, MakeExpected&& expected) {
  if (!ok) require_shape(false, name, a, std::string(expected()));
}
// Raises ValueError "<name>: expected the shape of <like_name> (...), got shape (...)" unless
// a and like have the same shape.
void require_same_shape(const py::array& a, const char* name, const py::array& like,
                        const char* like_name);
// Raises ValueError with the message unless ok.
void require(bool ok, const std::string& message);

FloatArray new_float32(const Shape& shape);
// A C-contiguous float32 array whose data starts on a cache line (64 bytes): a view into a block
// 15 floats longer. NumPy aligns its data to 16 bytes only, and there every 16-float store of the
// kernels straddles two lines. For large outputs (a view costs ~0.1 us more to make).
// `name`: the argument that gave the shape, for the error when it has too many cells.
FloatArray new_float32_lined(const Shape& shape, const char* name);
FloatArray zeros_float32(const Shape& shape);

}  // namespace shendu::bind
