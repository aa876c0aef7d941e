// Threading and floating-point environment shared by every kernel family.
#pragma once
#include <cstdint>
#include <omp.h>
#include <xmmintrin.h>
#include <pmmintrin.h>

namespace shendu {

int num_threads();
void set_num_threads(int n);

// Flush denormals to zero while a kernel runs (per thread: MXCSR is thread-local).
// Denormals appear in vanishing gradients and cost ~100x per operation on x86.
class DenormalGuard {
 public:
  DenormalGuard() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }  // FTZ | DAZ
  ~DenormalGuard() { _mm_setcsr(saved_); }
  DenormalGuard(const DenormalGuard&) = delete;
  DenormalGuard& operator=(const DenormalGuard&) = delete;

 private:
  unsigned saved_;
};

// Below this many floating-point operations a kernel runs on the calling thread:
// waking the pool costs a few microseconds, more than small layers take.
constexpr int64_t kParallelMinWork = 1 << 15;

// Calls body(begin, end) on contiguous chunks of [0, n). Splits across threads only when
// the total work (n * work_per_item) is large enough to pay for it.
template <class Body>
void parallel_for(int64_t n, int64_t work_per_item, Body&& body) {
  if (n <= 0) return;
  const int threads = num_threads();
  if (threads <= 1 || n == 1 || n * work_per_item < kParallelMinWork) {
    DenormalGuard guard;
    body(int64_t{0}, n);
    return;
  }
  const int64_t chunks = n < threads ? n : threads;
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    DenormalGuard guard;
    const int64_t t = omp_get_thread_num();
    const int64_t begin = n * t / chunks;
    const int64_t end = n * (t + 1) / chunks;
    if (begin < end) body(begin, end);
  }
}

}  // namespace shendu
