// The depthwise convolution kernels of depthwise_kernels.h, built for AVX2.
#include "conv/depthwise_kernels.h"

namespace shendu::depthwise {

const Kernels& kernels_avx2() { return kKernels; }

}  // namespace shendu::depthwise
