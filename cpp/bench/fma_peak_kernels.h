// The FMA chains behind fma_peak.h, written once on GCC/Clang vector extensions: each ISA's file
// (fma_peak.cpp, fma_peak_avx2.cpp, fma_peak_avx512.cpp) instantiates them at its own width, and
// its compile flags turn `a * b + c` into that ISA's fused multiply-add (portable SSE2 code has
// none: there it is a multiply and an add, the best portable code can do).
#pragma once
#include <cstdint>

namespace shendu::fma_peak {

struct Kernels {
  float (*run)(int64_t rounds);  // rounds x kChains FMAs of `lanes` floats; returns a value using all
  int lanes;
};

const Kernels& kernels_generic();
const Kernels& kernels_avx2();    // fma_peak_avx2.cpp (AVX2 + FMA)
const Kernels& kernels_avx512();  // fma_peak_avx512.cpp (AVX-512F)

// Independent accumulators: more than FMA latency x FMA ports (4 x 2 on current x86 cores), so
// the loop is bound by FMA throughput, not latency; fewer than the 32 AVX-512 registers.
constexpr int kChains = 20;

// Unnamed: each including file, compiled for its own ISA, gets its own copy (as in vec_math.h).
namespace {

// (A vector_size that depends on a template parameter takes effect on a class member typedef;
// GCC 12 drops it from a function-local one.)
template <int W>
struct Vector {
  typedef float type __attribute__((vector_size(W * sizeof(float))));
};

template <int W>
float run_chains(int64_t rounds) {
  using V = typename Vector<W>::type;
  V acc[kChains];
#pragma GCC unroll 32
  // None starts at the fixed point of x * scale + shift (1.0f, where GCC would fold the chain).
  for (int i = 0; i < kChains; ++i) acc[i] = V{} + (1.0f + 1e-3f * static_cast<float>(i + 1));
  const V scale = V{} + 0.999999f, shift = V{} + 1e-6f;
  for (int64_t r = 0; r < rounds; ++r)
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * scale + shift;
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i) sum += acc[i][0];
  return sum;
}

}  // namespace
}  // namespace shendu::fma_peak
