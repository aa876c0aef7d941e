// The direct small-channel convolution of conv2d_direct_kernels.h, built for AVX2.
#include "conv/conv2d_direct_kernels.h"

namespace shendu::direct {

const Kernels& kernels_avx2() { return kKernels; }

}  // namespace shendu::direct
