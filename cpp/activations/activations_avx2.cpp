// The activation loops of activation_kernels.h compiled for AVX2.
#include "activations/activation_kernels.h"

namespace shendu::activation {

const Kernels& kernels_avx2() { return Loops<1>::kKernels; }

}  // namespace shendu::activation
