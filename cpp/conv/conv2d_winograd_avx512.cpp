// The Winograd convolution built with avx512 code generation (see conv2d_winograd_kernels.h).
#include "conv/conv2d_winograd_kernels.h"

namespace shendu::winograd {

const Kernels& kernels_avx512() { return kKernels; }

}  // namespace shendu::winograd
