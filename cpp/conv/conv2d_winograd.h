// Winograd F(2x2, 3x3) and F(4x4, 3x3) for 3x3 stride-1 convolutions (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016), in NHWC.
//
// Why: on layers with many channels the im2col GEMMs already run near the FMA peak, so only fewer
// multiplications make them faster. Each 2x2 block of outputs (a tile) is computed from a 4x4
// input tile with 16 products per channel pair instead of 36: the input and filter tiles are
// transformed (additions only), the 16 transformed positions become 16 independent GEMMs over
// channels, and the 4x4 results are transformed back to 2x2 outputs. F(4x4, 3x3) computes 4x4
// outputs from 6x6 input tiles with 36 products (2.25 per output against 4), at the price of
// transforms with more terms and of coarser partial tiles at the edges; winograd_tile picks the
// tile per layer.
//
// The same machinery serves all three products of a layer:
//   forward       y = conv(x, w)
//   dx            the transposed F(MxM, 3x3) on the forward's tiles: each M x M tile of dy
//                 transformed, the T * T GEMMs with the forward's transformed filters (channels
//                 swapped), and each T x T result transformed back and added into the input cells
//                 the tile reads. On 'valid' layers it runs on the forward's tiles, fewer than
//                 those of dx's own outputs (13 x 13 'valid' F(4x4): 9 against 16 per image).
//   dw            F(3x3, MxM), the transposed F(MxM, 3x3) on the same tiles: tiles of x (as in
//                 the forward) against M x M tiles of dy (transformed once for dx and dw),
//                 summed over all tiles in the transformed domain (one GEMM per position, the
//                 tiles being its inner dimension) and transformed back once.
//   db            from the same transformed dy tiles (one position holds each tile's sum).
//
// The F(2x2, 3x3) transforms only add, subtract and halve, so float32 results stay within a few
// ulps of the direct sums' error (~1e-6 of the output scale on unit normal data); F(4x4, 3x3)
// weighs by up to 8 and 1/24 (points +-2), which leaves errors up to ~3e-5 of that scale.
// Under F(2x2, 3x3) a non-finite input reaches exactly the outputs whose windows cover it (each
// output's inverse transform uses only the transformed positions that depend on its window), but
// an infinity can come out as NaN where a direct sum would give infinity. F(4x4, 3x3) loses the
// first property (an output's inverse transform uses positions that depend on its whole 6-cell
// tile row), so inputs with a non-finite value take F(2x2, 3x3). They are found on the way, not
// by a separate read of the input: the forward checks its outputs (a non-finite input cell
// reaches, under either tile, every output whose window covers it: some transformed position that
// the output's inverse transform uses depends on the cell, and inf or NaN times any coefficient or
// filter value, or plus anything, stays inf or NaN), through sums of them kept in registers, and
// the backward dy, through db (the sum of every dy cell, which it computes anyway); an F(4x4, 3x3)
// pass that saw one is redone under F(2x2, 3x3). (A finite sum that overflows counts too, which
// costs only the redo.)
#pragma once
#include <cstdint>
#include <vector>

#include "conv/conv2d.h"

namespace shendu {

// A 3x3 stride-1 correlation of images in_h x in_w x ci into out_h x out_w x co: output (oh, ow)
// reads the input window whose top-left cell is (oh - pad_h, ow - pad_w), zeros outside.
// Outputs come in tiles of tile x tile (2 or 4).
struct WinogradGeometry {
  int64_t in_h, in_w, ci, out_h, out_w, co, pad_h, pad_w;
  int tile;
};

// True for 3x3 stride-1 layers whose outputs fill the 2x2 tiles well enough for the saved
// products to outweigh the transforms and the partial tiles at odd edges.
bool winograd_pays(const Conv2dShape& s);

// The forward's geometry, with the tile winograd_tile picks. The backward (dx and dw, on the
// forward's tiles) takes it too: its transposed products have the forward's GEMMs and transform
// sizes, so its costs.
WinogradGeometry winograd_geometry(const Conv2dShape& s);

// The tile (2 or 4) with the lower estimated cost for g (its tile field ignored).
int winograd_tile(const WinogradGeometry& g);

// Floats between the positions of the transformed filters and of the backward's per-position dw
// sums (ci x co each): one 16-float vector past ci * co, so that positions do not lie a multiple of
// 4 KiB apart: at 32 x 64 filters (8 KiB) the 36 stores of one filter's positions, and the 36
// loads of dw's inverse transform, would all fall into one L1 set.
inline int64_t winograd_plane(int64_t ci, int64_t co) { return ci * co + 16; }

// The transformed filters (T * T positions of C x F, winograd_plane floats apart, T = tile + 2)
// for a geometry above: for the forward, or for the input gradient with the channel axes swapped
// (positions of F x C). In a per-thread buffer,
// valid until the calling thread's next call.
const float* winograd_filters(const Conv2dShape& s, const float* w, bool input_grad, int tile);

// out = conv(in, filters) + b (b may be null) for images [n0, n1); u from winograd_filters.
// Runs on the calling thread (or sgemm threads itself outside a parallel region). Under F(4x4),
// false when an output it stored is NaN or infinite (the caller then redoes the layer under
// F(2x2), see above); under F(2x2), true.
bool winograd_conv(const WinogradGeometry& g, const float* in, const float* u, const float* b,
                   int64_t n0, int64_t n1, float* out);

// dw (KH * KW * C rows of F, overwritten), db (F, added to; finite on entry) and, unless dx is
// null, dx of images [n0, n1); g from winograd_geometry (its tile serves all three, so dw and db
// do not depend on whether dx is asked for), u from winograd_filters(..., true, g.tile) (unused
// without dx). Runs on the calling thread like winograd_conv. Under F(4x4), false when a dy value
// it read is NaN or infinite (the caller then redoes the layer under F(2x2): the transposed F(2x2)
// keeps dy's NaN to the dx cells its windows cover, the transposed F(4x4) does not); under F(2x2),
// true.
bool winograd_backward(const WinogradGeometry& g, const float* x, const float* dy, const float* u,
                       int64_t n0, int64_t n1, float* dx, float* dw, float* db);

}  // namespace shendu
