// The depthwise convolution kernels of depthwise_kernels.h, built for AVX-512.
#include "conv/depthwise_kernels.h"

namespace shendu::depthwise {

const Kernels& kernels_avx512() { return kKernels; }

}  // namespace shendu::depthwise
