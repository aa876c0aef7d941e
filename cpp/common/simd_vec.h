// The native float vector of the including file's instruction set, for kernel headers compiled
// once per ISA (conv/conv2d_direct_kernels.h, conv/depthwise_kernels.h): 16 lanes with AVX-512, 8
// with AVX2, 4 otherwise (SSE).
//
// Native vectors, not 16-float ones everywhere: where 16 floats are wider than a register, GCC
// lowers a scalar * vector product by storing the scalar to the stack 16 times and reloading it,
// which makes the SSE and AVX2 builds many times slower than AVX-512.
//
// Everything lives in an unnamed namespace: each including file (compiled portable, AVX2 or
// AVX-512) gets its own copy, so the linker can never substitute one ISA's code for another's.
#pragma once
#include <cstring>

// The helpers pass vectors by value; they have internal linkage and are inlined, so the ABI
// difference GCC warns about never crosses a call boundary.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
namespace shendu::simd {
namespace {

#if defined(__AVX512F__)
constexpr int kVecLanes = 16;
#elif defined(__AVX2__)
constexpr int kVecLanes = 8;
#else
constexpr int kVecLanes = 4;
#endif
typedef float V __attribute__((vector_size(kVecLanes * sizeof(float))));

// A T (a native vector, or one float) from p, which need not be aligned.
template <class T = V>
inline T load(const float* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace
}  // namespace shendu::simd
#pragma GCC diagnostic pop
