// The recurrent gate kernels compiled for AVX-512 (CMake gives *_avx512.cpp files the flags).
#include "rnn/rnn_kernels.h"

namespace shendu::rnn {

const CellKernels& cell_kernels_avx512() { return kCellKernels; }

}  // namespace shendu::rnn
