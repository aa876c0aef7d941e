// The recurrent gate kernels compiled for AVX-512 (CMake gives *_avx512.cpp files the flags).
#include "rnn/rnn_kernels.h"

namespace shendu::rnn {

const Kernels& kernels_avx512() { return kKernels; }

}  // namespace shendu::rnn
