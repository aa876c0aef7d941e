#include "bench/fma_peak.h"

#include <algorithm>
#include <chrono>

#include "bench/fma_peak_kernels.h"
#include "common/cpu_features.h"
#include "common/parallel.h"

namespace shendu {
namespace fma_peak {
namespace {

const Kernels& active_kernels() { return for_isa(kernels_generic, kernels_avx2, kernels_avx512); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

const Kernels& kernels_generic() {
  static constexpr Kernels kGeneric{&run_chains<4>, 4};
  return kGeneric;
}

}  // namespace fma_peak

double fma_peak_gflops(int threads, double seconds) {
  using namespace fma_peak;
  const Kernels& chains = active_kernels();
  const int64_t flops_per_round = int64_t{2} * kChains * chains.lanes;
  // Rounds for `seconds` on one thread, from a run long enough to time (at least ~1/8 of it).
  int64_t rounds = 1 << 12;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    chains.run(rounds);
    const double took = seconds_since(t0);
    if (took >= seconds / 8 || rounds >= (int64_t{1} << 40)) {
      rounds = std::max<int64_t>(1, static_cast<int64_t>(rounds * (seconds / std::max(took, 1e-9))));
      break;
    }
    rounds *= 4;
  }
  const int n = std::clamp(threads, 1, num_threads());
  const auto t0 = std::chrono::steady_clock::now();
  parallel_for_each_item(n, rounds * flops_per_round, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) chains.run(rounds);
  });
  const double took = seconds_since(t0);
  return static_cast<double>(n) * static_cast<double>(rounds * flops_per_round) / took / 1e9;
}

}  // namespace shendu
