// The max-pooling line kernels built with avx2 code generation (see pool2d_kernels.h).
#include "pool/pool2d_kernels.h"

namespace shendu::pool2d {

template <class Index>
const Kernels<Index>& kernels_avx2() {
  return kKernels<Index>;
}
template const Kernels<uint8_t>& kernels_avx2();
template const Kernels<uint16_t>& kernels_avx2();

}  // namespace shendu::pool2d
