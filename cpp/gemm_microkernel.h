// The one register-blocked GEMM micro-kernel, written against a small vector interface S so each
// ISA file instantiates it with its own registers (BLIS: the framework never changes per ISA,
// only this). S provides: V, W (floats per V), zero, load, store, bcast, fmadd (a * b + c), and
// load_n / store_n touching only the first n < W floats (for the right edge of C).
//
// Include this only from the translation unit of one ISA, and instantiate it with that ISA's S:
// the template arguments keep every ISA's code under distinct symbols.
#pragma once
#include <cstdint>
#include <utility>

#include "gemm_kernel.h"

namespace shendu::gemm {

template <class S, int MR, int NV>
struct MicroKernel {
  using V = typename S::V;
  static constexpr int W = S::W;
  static constexpr int NR = NV * W;

  // M rows and NU vectors of C: the full tile is <MR, NV>; smaller ones serve the bottom and right
  // edges at their own cost instead of computing a padded full tile.
  template <int M, int NU>
  static void tile(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
                   int n, float beta) {
    // Start fetching C now: its rows are ldc apart, which the hardware prefetcher does not guess.
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i) {
      __builtin_prefetch(c + i * ldc, 1);
      __builtin_prefetch(c + i * ldc + NU * W - 1, 1);
    }
    V acc[M][NU];
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NU; ++j) acc[i][j] = S::zero();
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; ++k) {
      V bv[NU];
#pragma GCC unroll 8
      for (int j = 0; j < NU; ++j) bv[j] = S::load(b + j * W);
#pragma GCC unroll 32
      for (int i = 0; i < M; ++i) {
        const V ai = S::bcast(a[i]);
#pragma GCC unroll 8
        for (int j = 0; j < NU; ++j) acc[i][j] = S::fmadd(ai, bv[j], acc[i][j]);
      }
      a += MR;
      b += ldb;
    }
    const V vbeta = S::bcast(beta);
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i) {
      float* ci = c + i * ldc;
#pragma GCC unroll 8
      for (int j = 0; j < NU; ++j) {
        const int rest = n - j * W;  // >= 1: NU vectors cover n
        V r = acc[i][j];
        if (rest >= W) {
          if (beta != 0.0f) r = S::fmadd(vbeta, S::load(ci + j * W), r);
          S::store(ci + j * W, r);
        } else {
          if (beta != 0.0f) r = S::fmadd(vbeta, S::load_n(ci + j * W, rest), r);
          S::store_n(ci + j * W, r, rest);
        }
      }
    }
  }

  using Body = void (*)(int64_t, const float*, const float*, int64_t, float*, int64_t, int, float);
  struct Table {
    Body f[MR * NV];
  };
  template <int... I>
  static constexpr Table make_table(std::integer_sequence<int, I...>) {
    return Table{{&tile<I / NV + 1, I % NV + 1>...}};
  }
  static constexpr Table kTable = make_table(std::make_integer_sequence<int, MR * NV>{});

  static void dispatch(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                       int64_t ldc, int m, int n, float beta) {
    kTable.f[(m - 1) * NV + (n + W - 1) / W - 1](kc, a, b, ldb, c, ldc, n, beta);
  }

  static constexpr Kernel make(int64_t mc, int64_t kc, int64_t nc) {
    return Kernel{MR, NR, mc, kc, nc, &dispatch};
  }
};

}  // namespace shendu::gemm
