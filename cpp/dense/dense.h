// Dense (fully connected) layer: y = act(x @ w + b), Keras layout w (in, out).
#pragma once
#include <cstdint>

#include "activations/activations.h"

namespace shendu {

// x (n, in), w (in, out), b (out,) or null -> y (n, out).
void dense_forward(const float* x, const float* w, const float* b, float* y, int64_t n,
                   int64_t in, int64_t out, Activation act);

// From dy and the forward's x, w, y: dx (n, in), dw (in, out), db (out,). dx or db may be null
// (a network's first layer needs no dx; a layer without bias no db): not computed.
void dense_backward(const float* dy, const float* x, const float* w, const float* y, float* dx,
                    float* dw, float* db, int64_t n, int64_t in, int64_t out, Activation act);

}  // namespace shendu
