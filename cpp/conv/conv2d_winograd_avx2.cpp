// The Winograd convolution built with avx2 code generation (see conv2d_winograd_kernels.h).
#include "conv/conv2d_winograd_kernels.h"

namespace shendu {

const WinogradKernels& winograd_kernels_avx2() { return winograd::kKernels; }

}  // namespace shendu
