// The per-time-step fused gate kernels of LSTM, GRU and SimpleRNN (Keras formulas, see
// shendu.ops). The GEMMs around them are sgemm.h: the input projection of all steps at once, the
// recurrent one step by step. All arrays are one time step, (N, G * U) or (N, U), contiguous.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace shendu::cuda {

// xw = x_t @ W + b, hu = h_prev @ U, gate blocks i, f, c, o. Writes the activated gates (for the
// backward), c and h.
void lstm_step_forward(const float* xw, const float* hu, const float* c_prev, float* gates,
                       float* c, float* h, int64_t N, int64_t U, cudaStream_t stream);
// dh = dh_out + dh_rec (the gradient from the outputs and from step t + 1). Writes dz (N, 4U), the
// gradient of the gate pre-activations, and replaces dc (in: from step t + 1, out: for step t - 1).
void lstm_step_backward(const float* dh_out, const float* dh_rec, const float* gates,
                        const float* c, const float* c_prev, float* dc, float* dz, int64_t N,
                        int64_t U, cudaStream_t stream);

// reset_after=True: xw = x_t @ W + b_in, hu = h_prev @ U + b_rec, gate blocks z, r, h. Writes
// gates (N, 4U): z, r, the candidate hh and hu's h block (which the backward needs) and h.
void gru_step_forward(const float* xw, const float* hu, const float* h_prev, float* gates, float* h,
                      int64_t N, int64_t U, cudaStream_t stream);
// dh = dh_out + dh_direct + dh_rec. Writes dxw (N, 3U) and dhu (N, 3U), the gradients of xw and
// hu, and replaces dh_direct with dh * z (the part of dh_prev that skips the GEMM).
void gru_step_backward(const float* dh_out, float* dh_direct, const float* dh_rec,
                       const float* gates, const float* h_prev, float* dxw, float* dhu, int64_t N,
                       int64_t U, cudaStream_t stream);

// h = tanh(xw + hu).
void rnn_step_forward(const float* xw, const float* hu, float* h, int64_t N, int64_t U,
                      cudaStream_t stream);
// dz = (dh_out + dh_rec) * (1 - h^2).
void rnn_step_backward(const float* dh_out, const float* dh_rec, const float* h, float* dz,
                       int64_t N, int64_t U, cudaStream_t stream);

}  // namespace shendu::cuda
