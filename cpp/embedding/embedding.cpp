#include "embedding/embedding.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/parallel.h"

namespace shendu {

void embedding_forward(const int64_t* ids, int64_t n, const float* table, int64_t D, float* out) {
  if (D == 0) return;
  parallel_for(n, D, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      std::memcpy(out + i * D, table + ids[i] * D, sizeof(float) * D);
  });
}

void embedding_backward(const float* dy, const int64_t* ids, int64_t n, int64_t V, int64_t D,
                        float* dtable) {
  if (V == 0 || D == 0) return;
  // Counting sort of the positions by id: row v's positions are
  // order[start[v] .. start[v + 1]), in increasing order.
  std::vector<int64_t> start(V + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++start[ids[i] + 1];
  for (int64_t v = 0; v < V; ++v) start[v + 1] += start[v];
  std::vector<int64_t> order(n);
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i) order[fill[ids[i]]++] = i;

  // Ids are usually skewed (frequent words), so threads get row ranges of equal work rather than
  // equal row counts: a row costs one unit to write plus one per position added into it. The
  // cumulative work before row r is start[r] + r, which is increasing, so the boundaries are
  // found by binary search.
  const int64_t total = n + V;
  const int64_t parts = std::min<int64_t>(num_threads(), V);
  auto first_row_at = [&](int64_t part) {
    const int64_t target = total * part / parts;
    int64_t lo = 0, hi = V;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (start[mid] + mid >= target) hi = mid; else lo = mid + 1;
    }
    return lo;
  };
  parallel_for(parts, total * D / parts, [&](int64_t p0, int64_t p1) {
    const int64_t r_end = first_row_at(p1);
    for (int64_t r = first_row_at(p0); r < r_end; ++r) {
      float* dst = dtable + r * D;
      std::fill(dst, dst + D, 0.0f);
      for (int64_t k = start[r]; k < start[r + 1]; ++k) {
        const float* src = dy + order[k] * D;
        for (int64_t d = 0; d < D; ++d) dst[d] += src[d];
      }
    }
  });
}

}  // namespace shendu
