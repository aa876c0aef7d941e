// Scratch buffers that kernels keep per calling thread (thread_local std::vector<float>), grow as
// needed and reuse across calls: faulting in fresh pages, or zeroing a fresh vector, for every call
// costs more than many small kernels take.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace shendu {

// The first of `floats` floats in buf (grown as needed) that starts a cache line: std::vector
// guarantees 16 bytes, and in a workspace that starts mid-line every 64-byte vector load and
// store straddles two lines (how slow a kernel is then depends on where the heap placed it).
inline float* line_aligned(std::vector<float>& buf, int64_t floats) {
  constexpr size_t kLine = 64;
  const size_t need = static_cast<size_t>(floats) + kLine / sizeof(float);
  if (buf.size() < need) buf.resize(need);
  void* p = buf.data();
  size_t space = buf.size() * sizeof(float);
  const size_t bytes = static_cast<size_t>(floats) * sizeof(float);
  return static_cast<float*>(std::align(kLine, bytes, p, space));
}

}  // namespace shendu
