// fma_peak.h's chains in 8-lane AVX2 vectors.
#include "bench/fma_peak_kernels.h"

namespace shendu::fma_peak {

const Kernels& kernels_avx2() {
  static constexpr Kernels kAvx2{&run_chains<8>, 8};
  return kAvx2;
}

}  // namespace shendu::fma_peak
