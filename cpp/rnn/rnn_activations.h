// The recurrent cells' activations, for rnn_kernels.h (compiled once per instruction set, like
// the cells): each as a type, whose f and grad the fused cells inline in their own loops, and as
// an Activation, the pair of whole-row passes that the table cells call.
//
// Everything with code lives in an unnamed namespace (see rnn_kernels.h).
#pragma once
#include <cstdint>

#include "common/vec_math.h"

namespace shendu::rnn {

// A cell activation over a contiguous run of one row, compiled per ISA like the cells: apply
// replaces x by f(x); scale_by_slope multiplies d by f'(x), computed from y = f(x). Picked once per
// call from Kernels::activations (indexed by RnnActivation) for the table cells
// (rnn_table_cells.h), so their loops stay vectorized.
struct Activation {
  void (*apply)(float* x, int64_t n);
  void (*scale_by_slope)(const float* y, float* d, int64_t n);
};

namespace {

// ---- f(x), and grad(d, y) = d * f'(x) from y = f(x) and d = dL/dy -----------------------------

// The gates' sigmoid as 1 / (1 + e^-x): e^-x saturates at e^88.37, so nothing overflows, and
// a large negative x still gets e^x to full relative accuracy (1 + e^-x is e^-x then). Fewer
// operations than vec_math::sigmoid's split by the sign of x (the gate kernels are bound by
// arithmetic).
struct Sigmoid {
  static float f(float x) { return 1.0f / (1.0f + vec_math::exp(-x)); }
  static float grad(float d, float y) { return d * y * (1.0f - y); }
};

struct Tanh {
  static float f(float x) { return vec_math::tanh(x); }
  static float grad(float d, float y) { return d * (1.0f - y * y); }
};

// Masks instead of ?: wherever a branch would guard float work (see vec_math::select); the
// comparisons are written so that NaN passes through f.
struct Relu {
  static float f(float x) { return x < 0.0f ? 0.0f : x; }
  static float grad(float d, float y) {
    return d * vec_math::select(vec_math::mask_if(y > 0.0f), 1.0f, 0.0f);
  }
};

// Keras 3: relu6(x + 3) / 6. Its slope is 1/6 on the open interval, as TF's Relu6Grad.
struct HardSigmoid {
  static float f(float x) {
    const float r = x + 3.0f < 0.0f ? 0.0f : x + 3.0f;
    return (r > 6.0f ? 6.0f : r) / 6.0f;
  }
  static float grad(float d, float y) {
    return d * vec_math::select(vec_math::mask_if((y > 0.0f) & (y < 1.0f)), 1.0f / 6.0f, 0.0f);
  }
};

struct Linear {
  static float f(float x) { return x; }
  static float grad(float d, float /*y*/) { return d; }
};

template <class A>
void apply(float* __restrict__ x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = A::f(x[i]);
}

template <class A>
void scale_by_slope(const float* __restrict__ y, float* __restrict__ d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = A::grad(d[i], y[i]);
}

template <class A>
constexpr Activation activation_of() {
  return {apply<A>, scale_by_slope<A>};
}

}  // namespace
}  // namespace shendu::rnn
