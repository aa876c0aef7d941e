#include "parallel.h"

#include <atomic>
#include <thread>

namespace shendu {
namespace {
std::atomic<int> g_num_threads{0};  // 0 = not chosen yet: the Python layer sets it at import
}

int num_threads() {
  const int n = g_num_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : static_cast<int>(std::thread::hardware_concurrency());
}

void set_num_threads(int n) { g_num_threads.store(n > 0 ? n : 1, std::memory_order_relaxed); }

}  // namespace shendu
