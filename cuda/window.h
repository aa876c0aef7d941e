// Sliding-window geometry over NHWC images, shared by convolution and pooling. The caller picks
// the output size and the top/left padding (shendu/_cuda.py applies TF's 'valid'/'same' rule).
#pragma once
#include <cstdint>

namespace shendu::cuda {

struct Window2d {
  int64_t N, H, W, C;  // input images
  int64_t kh, kw;      // window
  int64_t sh, sw;      // strides
  int64_t pt, pl;      // padding before the first row / column (the rest is after the last)
  int64_t Ho, Wo;      // output size
};

}  // namespace shendu::cuda
