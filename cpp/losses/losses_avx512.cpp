// The loss loops of loss_kernels.h compiled for AVX-512.
#include "losses/loss_kernels.h"

namespace shendu::loss {

const Kernels& kernels_avx512() { return Loops<2>::kKernels; }

}  // namespace shendu::loss
