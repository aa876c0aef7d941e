// The global pooling loops of global_pool_kernels.h compiled for AVX2.
#include "pool/global_pool_kernels.h"

namespace shendu::global_pool {

const Kernels& kernels_avx2() { return Loops<1>::kKernels; }

}  // namespace shendu::global_pool
