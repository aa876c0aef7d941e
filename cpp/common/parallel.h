// Threading and floating-point environment shared by every kernel family.
//
// parallel_for runs on a persistent pool in which the calling thread takes part and work is
// claimed chunk by chunk. Nothing ever waits for a thread that has not started: if the OS has
// descheduled a worker (a busy machine), the caller and the other workers take its share, and the
// caller waits only for chunks already under way. (Fork-join with a barrier, as in OpenMP, waits a
// whole time slice for such a thread, many times a small kernel's run time on a busy machine.)
#pragma once
#include <pmmintrin.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

namespace shendu {

int num_threads();
void set_num_threads(int n);
// True on a thread that is running a parallel_for body: nested parallel_for calls (and sgemm
// inside one) then run serially on that thread.
bool in_parallel_region();

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

// The product of work factors, saturated at INT64_MAX: the estimate for a huge, mostly padded
// window (pool sizes up to 2^31 per axis) must not wrap to a small or negative number.
inline int64_t work_product(std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t f : factors)
    if (__builtin_mul_overflow(product, f, &product)) return INT64_MAX;
  return product;
}

namespace detail {
using ChunkFn = void (*)(void* body, int64_t begin, int64_t end);
// Calls fn(body, begin, end) for `chunks` contiguous, near-equal pieces of [0, n), on up to
// `threads` threads including the caller; returns when all are done.
void run_chunks(int64_t n, int64_t chunks, int threads, ChunkFn fn, void* body);
}  // namespace detail

namespace detail {
// parallel_for with at most chunks_per_thread chunks per thread (0: one chunk per item).
template <class Body>
void parallel_for_chunked(int64_t n, int64_t work_per_item, int64_t chunks_per_thread,
                          Body&& body) {
  if (n <= 0) return;
  const int threads = num_threads();
  if (threads <= 1 || n == 1 || work_product({n, work_per_item}) < kParallelMinWork ||
      in_parallel_region()) {
    DenormalGuard guard;
    body(int64_t{0}, n);
    return;
  }
  using B = std::remove_reference_t<Body>;
  const int64_t chunks =
      chunks_per_thread > 0 ? std::min<int64_t>(n, chunks_per_thread * threads) : n;
  run_chunks(
      n, chunks, threads,
      [](void* b, int64_t begin, int64_t end) { (*static_cast<B*>(b))(begin, end); },
      const_cast<void*>(static_cast<const void*>(&body)));
}
}  // namespace detail

// Calls body(begin, end) on contiguous chunks of [0, n) that together cover it once. Splits across
// threads only when the total work (n * work_per_item) is large enough to pay for it. Bodies must
// not depend on how [0, n) is chunked (results are then independent of the thread count).
// A few chunks per thread, so a descheduled worker delays only the one it holds.
template <class Body>
void parallel_for(int64_t n, int64_t work_per_item, Body&& body) {
  detail::parallel_for_chunked(n, work_per_item, 4, body);
}

// parallel_for with every item its own chunk, for a few large items of equal cost: grouped 4
// chunks per thread, 10 items on 2 threads would be chunks of 1, 1, 1, 2, ..., and a thread
// could end up idle for a whole item while the other finishes a 2-item chunk.
template <class Body>
void parallel_for_each_item(int64_t n, int64_t work_per_item, Body&& body) {
  detail::parallel_for_chunked(n, work_per_item, 0, body);
}

}  // namespace shendu
