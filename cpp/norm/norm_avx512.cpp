// The normalization loops built with avx512 code generation (see norm_kernels.h).
#include "norm/norm_kernels.h"

namespace shendu::norm {

const Kernels& kernels_avx512() { return kKernels; }

}  // namespace shendu::norm
