#include "common/parallel.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace shendu {
namespace {

std::atomic<int> g_num_threads{0};  // 0 = not chosen yet: the Python layer sets it at import
thread_local bool t_in_region = false;

// How long an idle worker polls for the next job before sleeping: long enough to catch the next
// op of a training step (a few microseconds away), short enough not to steal a busy machine's CPU.
constexpr int kSpinPolls = 4000;

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  void run(int64_t n, int64_t chunks, int threads, detail::ChunkFn fn, void* body) {
    if (getpid() != owner_) {  // forked child (e.g. multiprocessing): no pool here, run serially
      DenormalGuard guard;
      fn(body, 0, n);
      return;
    }
    // One job at a time: a second Python thread calling a kernel waits here.
    std::lock_guard<std::mutex> serial(run_mu_);
    const int helpers = threads - 1;
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (static_cast<int>(workers_.size()) < helpers)
        workers_.emplace_back([this, id = static_cast<int>(workers_.size())] { work(id); });
      job_ = Job{n, chunks, helpers, fn, body, 0};
      done_.store(0, std::memory_order_relaxed);
      gen = ++generation_;
      published_.store(gen, std::memory_order_release);
    }
    wake_.notify_all();
    execute(gen);
    // Only chunks that were claimed can be outstanding; each finishes without waiting on us.
    while (done_.load(std::memory_order_acquire) < chunks) std::this_thread::yield();
  }

 private:
  struct Job {
    int64_t n = 0, chunks = 0;
    int helpers = 0;
    detail::ChunkFn fn = nullptr;
    void* body = nullptr;
    int64_t next = 0;  // next unclaimed chunk
  };

  // Claims the next chunk of job `gen`; false when it is finished or superseded.
  bool claim(uint64_t gen, Job& job, int64_t& chunk) {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation_ != gen || job_.next >= job_.chunks) return false;
    chunk = job_.next++;
    job = job_;
    return true;
  }

  void execute(uint64_t gen) {
    DenormalGuard guard;
    t_in_region = true;
    Job job;
    int64_t c;
    while (claim(gen, job, c)) {
      job.fn(job.body, job.n * c / job.chunks, job.n * (c + 1) / job.chunks);
      done_.fetch_add(1, std::memory_order_release);
    }
    t_in_region = false;
  }

  void work(int id) {
    uint64_t seen = 0;
    for (;;) {
      for (int i = 0; i < kSpinPolls && published_.load(std::memory_order_acquire) == seen; ++i)
        _mm_pause();
      uint64_t gen;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        gen = seen = generation_;
        if (id >= job_.helpers) continue;  // fewer threads asked for than the pool has
      }
      execute(gen);
    }
  }

  std::mutex run_mu_;
  std::mutex mu_;  // guards job_, generation_, stop_, workers_
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  const pid_t owner_ = getpid();
  Job job_;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> published_{0};  // generation_, readable without the lock for polling
  std::atomic<int64_t> done_{0};
  bool stop_ = false;
};

// In a forked child the workers, and the waiters counted in the pool's mutex and condition
// variable, stayed in the parent: destroying the pool there would abort (joinable threads) or
// hang (pthread_cond_destroy), so the child's copy is deliberately leaked at exit.
struct PoolHolder {
  std::unique_ptr<Pool> pool = std::make_unique<Pool>();
  const pid_t owner = getpid();
  ~PoolHolder() {
    if (getpid() != owner) static_cast<void>(pool.release());
  }
};

Pool& pool() {
  static PoolHolder holder;
  return *holder.pool;
}

}  // namespace

int num_threads() {
  const int n = g_num_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : static_cast<int>(std::thread::hardware_concurrency());
}

void set_num_threads(int n) { g_num_threads.store(n > 0 ? n : 1, std::memory_order_relaxed); }

bool in_parallel_region() { return t_in_region; }

namespace detail {
void run_chunks(int64_t n, int64_t chunks, int threads, ChunkFn fn, void* body) {
  pool().run(n, chunks, threads, fn, body);
}
}  // namespace detail

}  // namespace shendu
