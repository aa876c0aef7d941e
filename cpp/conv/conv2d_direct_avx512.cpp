// The direct small-channel convolution built with avx512 code generation (see conv2d_direct_kernels.h).
#include "conv/conv2d_direct_kernels.h"

namespace shendu {

const DirectConv& direct_conv_avx512() { return direct::kKernels; }

}  // namespace shendu
