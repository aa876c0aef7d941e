// The one register-blocked GEMM micro-kernel, written against a small vector interface S so each
// ISA file instantiates it with its own registers (BLIS: the framework never changes per ISA,
// only this). S provides: V, W (floats per V), zero, load, store, bcast, mul, fmadd (a * b + c), and
// load_n / store_n touching only the first n < W floats (for the right edge of C), and transpose
// of one T x T block (d[c * ldd + r] = s[r * lds + c]) for the packs that transpose.
//
// Include this only from the translation unit of one ISA, and instantiate it with that ISA's S:
// the template arguments keep every ISA's code under distinct symbols.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>

#include "gemm/gemm_kernels.h"

namespace shendu::gemm {

template <class S, int MR, int NV>
struct MicroKernel {
  using V = typename S::V;
  static constexpr int W = S::W;
  static constexpr int NR = NV * W;

  // M rows and NU vectors of C: the full tile is <MR, NV>; smaller ones serve the bottom and right
  // edges at their own cost instead of computing a padded full tile. ARows: A(i, k) at
  // a[i * lda + k] (A in place), else at a[k * lda + i] (packed, or A^T in place).
  template <bool ARows, int M, int NU>
  static void tile(const TileArgs& t) {
    const float* a = t.a;
    const float* b = t.b;
    float* c = t.c;
    const int64_t lda = t.lda, ldb = t.ldb, ldc = t.ldc;
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
    for (int64_t k = 0; k < t.kc; ++k) {
      V bv[NU];
#pragma GCC unroll 8
      for (int j = 0; j < NU; ++j) bv[j] = S::load(b + j * W);
#pragma GCC unroll 32
      for (int i = 0; i < M; ++i) {
        const V ai = S::bcast(ARows ? a[i * lda] : a[i]);
#pragma GCC unroll 8
        for (int j = 0; j < NU; ++j) acc[i][j] = S::fmadd(ai, bv[j], acc[i][j]);
      }
      a += ARows ? 1 : lda;
      b += ldb;
    }
    // The stores below may alias t (the vector types may alias anything): what the epilogue reads
    // of it is read once, here, and every choice is made once per tile, not per vector (with
    // small K, per-tile costs are a sizable part of the product). The first NU - 1 vectors of a
    // row are whole (NU vectors cover n), the last holds `last` floats.
    const int last = t.n - (NU - 1) * W;
    const float alpha = t.alpha, beta = t.beta;
    if (alpha != 1.0f) {  // 1 * x == x: skipping the product for alpha == 1 changes no bit
      const V valpha = S::bcast(alpha);
#pragma GCC unroll 32
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NU; ++j) acc[i][j] = S::mul(valpha, acc[i][j]);
    }
    if (beta == 0.0f)  // never reads C
      store_c<false>(acc, c, ldc, last, beta);
    else
      store_c<true>(acc, c, ldc, last, beta);
  }

  // C = acc (+ beta * C, with ReadC), the tile's last vector a row holding `last` floats. Each
  // vector of C is loaded, updated and stored before the next, rather than loading all before
  // storing any (products with several k blocks read C back in each of them).
  template <bool ReadC, int M, int NU>
  static void store_c(V (&acc)[M][NU], float* c, int64_t ldc, int last, float beta) {
    const V vbeta = S::bcast(beta);
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NU; ++j) {
        float* cij = c + i * ldc + j * W;
        const bool whole = j < NU - 1 || last == W;
        if (ReadC)
          acc[i][j] = S::fmadd(vbeta, whole ? S::load(cij) : S::load_n(cij, last), acc[i][j]);
        if (whole)
          S::store(cij, acc[i][j]);
        else
          S::store_n(cij, acc[i][j], last);
      }
  }

  struct Table {
    TileFn f[2 * MR * NV];
  };
  template <int... I>
  static constexpr Table make_table(std::integer_sequence<int, I...>) {
    return Table{{&tile<(I >= MR * NV), I % (MR * NV) / NV + 1, I % NV + 1>...}};
  }
  static constexpr Table kTable = make_table(std::make_integer_sequence<int, 2 * MR * NV>{});

  static void dispatch(const TileArgs& t) {
    kTable.f[(t.a_rows ? MR * NV : 0) + (t.m - 1) * NV + (t.n + W - 1) / W - 1](t);
  }

  // Kernels::pack_t in S::T x S::T register blocks: an element-wise gather writes one float per
  // strided store, which made packing B^T cost as much as the product for small layer shapes.
  // A ragged last block of rows, in a panel of at least T rows, is a full block shifted back over
  // the previous one (rewriting a few elements with the same values): the 14-row A micro-panel is
  // 8 + 6 rows, and gathering the 6 would copy 43% of A one float at a time. Ragged columns (k)
  // are gathered element-wise: at most T - 1 of them, cheaper than a round trip through a
  // zero-padded T x T buffer (k = 10 is a full and a 2-wide block), and than the overlapping
  // shift.
  static void pack_t(const float* src, int64_t lds, int rows, int64_t cols, float* dst,
                     int64_t ldd) {
    constexpr int T = S::T;
    for (int r = 0; r < rows; r += T) {
      const int r0 = rows >= T ? std::min(r, rows - T) : r;
      const int rh = std::min(T, rows - r0);
      for (int64_t c0 = 0; c0 < cols; c0 += T) {
        const int cw = static_cast<int>(std::min<int64_t>(T, cols - c0));
        const float* s = src + r0 * lds + c0;
        float* d = dst + c0 * ldd + r0;
        if (rh == T && cw == T) {
          S::transpose(s, lds, d, ldd);
          continue;
        }
        for (int c = 0; c < cw; ++c)
          for (int i = 0; i < rh; ++i) d[c * ldd + i] = s[i * lds + c];
      }
    }
  }

  // Kernels::pack_n in vectors, not element copies (a memmove call per row of 14 or 32 floats).
  // Column vector by column vector, so what each loop over the rows does (whole or masked
  // vectors) is decided once, not per vector (small packs are a large part of small products).
  // Only the vectors that hold the n columns are written (the tiles read no others): a 10-column
  // B panel is half the stores of a zero-padded 32.
  static void pack_n(const float* src, int64_t lds, int n, int64_t rows, float* dst, int ldd) {
    for (int c = 0; c < n; c += W) {
      const int valid = n - c, width = ldd - c;  // 1 <= valid <= width, as n <= ldd
      const float* s = src + c;
      float* d = dst + c;
      if (width < W) {  // the A^T micro-panel's last (for mr < W, only) vector
        for (int64_t r = 0; r < rows; ++r)
          S::store_n(d + r * ldd, S::load_n(s + r * lds, valid), width);
      } else if (valid >= W) {
        for (int64_t r = 0; r < rows; ++r) S::store(d + r * ldd, S::load(s + r * lds));
      } else {
        for (int64_t r = 0; r < rows; ++r) S::store(d + r * ldd, S::load_n(s + r * lds, valid));
      }
    }
  }

  static constexpr Kernels make(int64_t mc, int64_t kc, int64_t nc) {
    return Kernels{MR, NR, mc, kc, nc, &dispatch, &pack_t, &pack_n};
  }
};

}  // namespace shendu::gemm
