// Binding-side checks shared by convolution and pooling: the sliding-window geometry of an NHWC
// input, with the errors that name the offending argument.
#pragma once
#include <algorithm>
#include <string>
#include <utility>

#include "bindings/checks.h"
#include "common/window2d.h"

namespace shendu::bind {

struct WindowAxes {
  Axis h, w;
};

// x_shape: (N, H, W, C). A window larger than the input leaves no "valid" output: ValueError.
inline WindowAxes window_axes(const Shape& x_shape, const char* x_name,
                              std::pair<int64_t, int64_t> window, const char* window_name,
                              std::pair<int64_t, int64_t> strides, Padding padding) {
  // A kernel's extents come from an array (w), which may be empty and then of any extent.
  if (std::min(window.first, window.second) < 1 ||
      std::max(window.first, window.second) > kMaxWindow)
    throw py::value_error(std::string(window_name) + ": expected a window of 1 to " +
                          std::to_string(kMaxWindow) + " cells per axis, got (" +
                          std::to_string(window.first) + ", " + std::to_string(window.second) +
                          ")");
  const bool same = padding == Padding::Same;
  if (!same && (window.first > x_shape[1] || window.second > x_shape[2]))
    throw py::value_error(std::string(window_name) + ": window (" + std::to_string(window.first) +
                          ", " + std::to_string(window.second) + ") is larger than " + x_name +
                          " " + shape_str(x_shape) + " (H, W) with padding 'valid'");
  return {make_axis(x_shape[1], window.first, strides.first, same),
          make_axis(x_shape[2], window.second, strides.second, same)};
}

}  // namespace shendu::bind
