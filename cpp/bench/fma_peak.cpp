#include "bench/fma_peak.h"

#include <algorithm>
#include <chrono>

#include "bench/fma_peak_kernels.h"
#include "common/cpu_features.h"
#include "common/parallel.h"

namespace shendu {
namespace fma_peak {
namespace {

const Chains& active_chains() {
  switch (active_isa()) {
    case Isa::Avx512: return chains_avx512();
    case Isa::Avx2: return chains_avx2();
    default: return chains_generic();
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

const Chains& chains_generic() {
  static constexpr Chains kGeneric{&run_chains<4>, 4};
  return kGeneric;
}

}  // namespace fma_peak

double fma_peak_gflops(int threads, double seconds) {
  using namespace fma_peak;
  const Chains& chains = active_chains();
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
