// Each kernel family registers its functions in its own bind_<family>.cpp.
#pragma once
#include <pybind11/pybind11.h>

namespace shendu::bind {
void bind_dense(pybind11::module_& m);       // matmul, dense, activations
void bind_conv(pybind11::module_& m);        // conv2d, dilated, transposed, depthwise
void bind_pool(pybind11::module_& m);        // max/avg pooling
void bind_rnn(pybind11::module_& m);         // lstm, gru, simple_rnn
void bind_embedding(pybind11::module_& m);   // embedding
void bind_dropout(pybind11::module_& m);     // dropout
void bind_losses(pybind11::module_& m);      // fused losses
void bind_optimizers(pybind11::module_& m);  // fused optimizer updates
void bind_train_step(pybind11::module_& m);  // DenseStack: fused train step of Dense stacks
void bind_norm(pybind11::module_& m);        // batch and layer normalization
}  // namespace shendu::bind
