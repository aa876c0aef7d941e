// The max-pooling line kernels built with avx2 code generation (see pool2d_kernels.h).
#include "pool/pool2d_kernels.h"

namespace shendu {

template <class Index>
MaxPoolKernels<Index> max_pool_kernels_avx2() {
  return max_pool_kernels<Index>();
}
template MaxPoolKernels<uint8_t> max_pool_kernels_avx2();
template MaxPoolKernels<uint16_t> max_pool_kernels_avx2();

}  // namespace shendu
