#include "common/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

namespace shendu {
namespace {

Isa detect() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("fma"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Generic;
}

Isa initial_active() {
  const Isa best = detect();
  // SHENDU_ISA=generic|avx2|avx512 lowers the choice (for testing every variant on one machine).
  if (const char* env = std::getenv("SHENDU_ISA")) {
    for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512})
      if (std::strcmp(env, isa_name(isa)) == 0 && isa <= best) return isa;
  }
  return best;
}

std::atomic<Isa> g_active{initial_active()};

}  // namespace

Isa detected_isa() {
  static const Isa best = detect();
  return best;
}

Isa active_isa() { return g_active.load(std::memory_order_relaxed); }

bool set_active_isa(Isa isa) {
  if (isa > detected_isa()) return false;
  g_active.store(isa, std::memory_order_relaxed);
  return true;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
  }
}

}  // namespace shendu
