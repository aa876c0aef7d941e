// fma_peak.h's chains in 16-lane AVX-512 vectors.
#include "bench/fma_peak_kernels.h"

namespace shendu::fma_peak {

const Kernels& kernels_avx512() {
  static constexpr Kernels kAvx512{&run_chains<16>, 16};
  return kAvx512;
}

}  // namespace shendu::fma_peak
