// The max-pooling kernels built with avx512 code generation (see pool2d_isa.h).
#include "pool2d_isa.h"

namespace shendu {

MaxPoolKernels max_pool_kernels_avx512() { return {max_pool_line, max_unpool_image}; }

}  // namespace shendu
