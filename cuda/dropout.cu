#include "dropout.h"
#include "launch.h"

namespace shendu::cuda {

namespace {

// splitmix64 (Steele, Lea, Flood 2014): the golden-ratio increment, then the finalizer.
__device__ __forceinline__ uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__global__ void dropout_kernel(const float* x, int64_t n, uint64_t seed, double rate, float scale,
                               float* y, float* mask) {
  const uint64_t base = seed << 32;
  SHENDU_GRID_STRIDE(i, n) {
    const uint64_t bits = splitmix64(base + uint64_t(i)) >> 40;
    // The comparison is in double, as the reference's Python float rate: 24-bit integers and
    // their scaling by 2**-24 are exact there.
    const float keep = double(bits) * 0x1p-24 < rate ? 0.0f : scale;
    mask[i] = keep;
    y[i] = x[i] * keep;
  }
}

}  // namespace

void dropout(const float* x, int64_t n, uint64_t seed, double rate, float scale, float* y,
             float* mask, cudaStream_t stream) {
  if (n == 0) return;
  dropout_kernel<<<grid_for(n, 256), 256, 0, stream>>>(x, n, seed, rate, scale, y, mask);
  check_launch("dropout");
}

}  // namespace shendu::cuda
