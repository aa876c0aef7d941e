// The loss loops of loss_kernels.h compiled for AVX2.
#include "losses/loss_kernels.h"

namespace shendu::loss {

const Kernels& kernels_avx2() { return Loops<1>::kKernels; }

}  // namespace shendu::loss
