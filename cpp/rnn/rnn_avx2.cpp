// The recurrent gate kernels compiled for AVX2 + FMA (CMake gives *_avx2.cpp files the flags).
#include "rnn/rnn_kernels.h"

namespace shendu::rnn {

const Kernels& kernels_avx2() { return kKernels; }

}  // namespace shendu::rnn
