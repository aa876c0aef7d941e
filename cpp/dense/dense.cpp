#include "dense/dense.h"

#include <algorithm>
#include <vector>

#include "common/parallel.h"
#include "gemm/gemm.h"

namespace shendu {

void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t n,
                   int64_t in, int64_t out, Activation act) {
  sgemm(false, false, n, out, in, 1.0f, x, in, w, out, 0.0f, y, out);
  // Epilogue: bias and activation in one pass over y, which sgemm just left in cache.
  if (b || act != Activation::Linear) activate(act, y, b, y, n, out);
}

void dense_backward(const float* dy, const float* x, const float* w, const float* y, float* dx,
                    float* dw, float* db, int64_t n, int64_t in, int64_t out, Activation act) {
  std::vector<float> dz_store;
  const float* dz = dy;  // linear: dz is dy itself
  if (act != Activation::Linear) {
    dz_store.resize(static_cast<size_t>(n * out));
    activate_backward(act, dy, y, dz_store.data(), n, out);
    dz = dz_store.data();
  }
  if (dx) sgemm(false, true, n, in, out, 1.0f, dz, out, w, out, 0.0f, dx, in);  // dz @ w^T
  sgemm(true, false, in, out, n, 1.0f, x, in, dz, out, 0.0f, dw, out);  // dw = x^T @ dz
  if (!db) return;
  // db = column sums of dz; threads own disjoint columns, so the sums do not depend on them.
  parallel_for(out, n, [&](int64_t j0, int64_t j1) {
    std::fill(db + j0, db + j1, 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      const float* row = dz + i * out;
      for (int64_t j = j0; j < j1; ++j) db[j] += row[j];
    }
  });
}

}  // namespace shendu
