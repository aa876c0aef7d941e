// The FMA chains behind fma_peak.h, written once against a small vector interface S (V, W lanes,
// set1, fmadd = a * b + c, first lane) that each ISA's file instantiates with its own registers
// (fma_peak.cpp, fma_peak_avx2.cpp, fma_peak_avx512.cpp), as the GEMM micro-kernel is.
#pragma once
#include <cstdint>

namespace shendu::fma_peak {

struct Chains {
  float (*run)(int64_t rounds);  // rounds x kChains FMAs of W lanes; returns a value using them all
  int lanes;
};

// Independent accumulators: more than FMA latency x FMA ports (4 x 2 on current x86 cores), so
// the loop is bound by FMA throughput, not latency; fewer than the 32 AVX-512 registers.
constexpr int kChains = 20;

template <class S>
float run_chains(int64_t rounds) {
  using V = typename S::V;
  V acc[kChains];
#pragma GCC unroll 32
  for (int i = 0; i < kChains; ++i) acc[i] = S::set1(1.0f + 1e-3f * static_cast<float>(i));
  const V scale = S::set1(0.999999f), shift = S::set1(1e-6f);
  for (int64_t r = 0; r < rounds; ++r)
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i) acc[i] = S::fmadd(acc[i], scale, shift);
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i) sum += S::first(acc[i]);
  return sum;
}

template <class S>
constexpr Chains make_chains() {
  return Chains{&run_chains<S>, S::W};
}

const Chains& chains_generic();
const Chains& chains_avx2();    // fma_peak_avx2.cpp (AVX2 + FMA)
const Chains& chains_avx512();  // fma_peak_avx512.cpp (AVX-512F)

}  // namespace shendu::fma_peak
