// The activation loops of activation_kernels.h compiled for AVX512.
#include "activations/activation_kernels.h"

namespace shendu::activation {

const Kernels& kernels_avx512() { return Loops<2>::kKernels; }

}  // namespace shendu::activation
