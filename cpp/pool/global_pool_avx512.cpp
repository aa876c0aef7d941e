// The global pooling loops of global_pool_kernels.h compiled for AVX512.
#include "pool/global_pool_kernels.h"

namespace shendu::global_pool {

const Kernels& kernels_avx512() { return Loops<2>::kKernels; }

}  // namespace shendu::global_pool
